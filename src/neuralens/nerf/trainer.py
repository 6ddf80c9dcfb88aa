"""NeRF training, readable top to bottom: rays of the training views, a field, Adam, MSE on pixels.

The loop stops after ``iters`` steps or ``seconds`` of training time (evaluation time excluded), whichever
comes first, logs PSNR on one held-out view against training time (for PSNR-vs-time curves), saves a
checkpoint every ``checkpoint_every`` seconds and on Ctrl-C, and resumes exactly from one.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from tqdm.auto import tqdm

from neuralens.data.scenes import Scene
from neuralens.errors import NeuralensError
from neuralens.io import torch_save, write_json
from neuralens.models.checkpoint import FORMAT, load_checkpoint
from neuralens.nerf.fields import create_field
from neuralens.nerf.metrics import psnr, ssim
from neuralens.nerf.pipeline import RenderSettings, render_image, render_rays
from neuralens.nerf.rays import get_rays
from neuralens.utils import resolve_device, seed_everything


@dataclass
class NerfConfig:
    model: str = "tiny"
    field_kwargs: dict[str, Any] = field(default_factory=dict)
    render: RenderSettings = field(default_factory=RenderSettings)
    iters: int | None = 1000
    seconds: float | None = None
    batch_rays: int = 1024  # 0: one whole random image per step, as the tiny_nerf notebook
    lr: float = 5e-4
    seed: int = 0
    device: str = "auto"
    log_every: int = 25  # iterations between PSNR probes on one held-out view
    checkpoint_every: float = 60.0  # seconds
    chunk: int = 4096


def build_fields(cfg: NerfConfig) -> tuple[nn.Module, nn.Module | None]:
    """The field, and a separate fine field when hierarchical sampling asks for one (NeRF's two MLPs)."""
    kw = dict(cfg.field_kwargs)
    if cfg.render.use_viewdirs:
        kw.setdefault("use_viewdirs", True)
    coarse = create_field(cfg.model, **kw)
    fine = create_field(cfg.model, **kw) if cfg.render.n_importance > 0 else None
    return coarse, fine


def _state(coarse: nn.Module, fine: nn.Module | None) -> dict[str, Any]:
    state = {f"coarse.{k}": v.detach().cpu() for k, v in coarse.state_dict().items()}
    if fine is not None:
        state.update({f"fine.{k}": v.detach().cpu() for k, v in fine.state_dict().items()})
    return state


def load_state(coarse: nn.Module, fine: nn.Module | None, state: dict[str, Any]) -> None:
    coarse.load_state_dict({k[7:]: v for k, v in state.items() if k.startswith("coarse.")})
    if fine is not None:
        fine.load_state_dict({k[5:]: v for k, v in state.items() if k.startswith("fine.")})


def config_from_dict(d: dict[str, Any]) -> NerfConfig:
    d = dict(d)
    d["render"] = RenderSettings(**d.get("render", {}))
    return NerfConfig(**d)


def evaluate_views(coarse: nn.Module, fine: nn.Module | None, scene: Scene, cfg: NerfConfig,
                   indices: list[int] | None = None) -> dict[str, Any]:
    """Render ``indices`` (default: the test split) and score them; returns metrics and the renders."""
    indices = scene.test_idx if indices is None else indices
    coarse.eval()
    renders, depths, p, s = [], [], [], []
    for i in indices:
        out = render_image(coarse, scene.height, scene.width, scene.focal, scene.poses[i], cfg.render, cfg.chunk,
                           fine)
        renders.append(out["rgb"].clamp(0, 1))
        depths.append(out["depth"])
        p.append(psnr(renders[-1], scene.images[i]))
        s.append(ssim(renders[-1], scene.images[i]))
    coarse.train()
    return {"psnr": {"mean": sum(p) / len(p), "per_view": p}, "ssim": {"mean": sum(s) / len(s), "per_view": s},
            "images": torch.stack(renders), "depths": torch.stack(depths), "indices": list(indices)}


def scene_info(scene: Scene) -> dict[str, Any]:
    """What a checkpoint keeps about its scene: image size, intrinsics, bounds and the camera orbit."""
    eyes = scene.poses[:, :3, 3].double()
    radius = float(eyes.norm(dim=-1).mean())
    elevation = float(torch.rad2deg(torch.asin((eyes[:, 2] / eyes.norm(dim=-1)).clamp(-1, 1))).mean())
    return {"name": scene.name, "height": scene.height, "width": scene.width, "focal": scene.focal,
            "near": scene.near, "far": scene.far, "orbit_radius": radius, "orbit_elevation": elevation}


def train_nerf(cfg: NerfConfig, scene: Scene, out: str | Path, resume: bool = False, log: Any = print,
               progress: bool = True) -> dict[str, Any]:
    """Train on ``scene``'s training views; write ``checkpoint.pt``, ``metrics.json``, ``psnr_log.json``."""
    out = Path(out)
    ckpt_path = out / "checkpoint.pt"
    device = resolve_device(cfg.device)
    seed_everything(cfg.seed)
    if cfg.iters is None and cfg.seconds is None:
        raise NeuralensError("give --iters or --seconds (or both)")
    if cfg.render.n_samples < 2:
        raise NeuralensError("--samples must be at least 2")

    # --- data: every training ray in memory (N*H*W rays), colours beside them
    images, poses = scene.views("train")
    origins, dirs = get_rays(scene.height, scene.width, scene.focal, poses)
    origins, dirs, colors = origins.reshape(-1, 3), dirs.reshape(-1, 3), images.reshape(-1, 3)
    n_pix = scene.height * scene.width
    probe = scene.test_idx[0]

    # --- model and optimiser
    coarse, fine = build_fields(cfg)
    coarse.to(device)
    if fine is not None:
        fine.to(device)
    params = list(coarse.parameters()) + (list(fine.parameters()) if fine is not None else [])
    optimizer = torch.optim.Adam(params, lr=cfg.lr)
    gen = torch.Generator().manual_seed(cfg.seed)
    it, elapsed, history = 0, 0.0, []

    if resume:
        if not ckpt_path.is_file():
            raise NeuralensError(f"--resume: no checkpoint at {ckpt_path}")
        ckpt = load_checkpoint(ckpt_path, kind="nerf")
        if ckpt["arch"] != cfg.model:
            raise NeuralensError(f"--resume: checkpoint is {ckpt['arch']!r}, this run asks for {cfg.model!r}")
        load_state(coarse, fine, ckpt["state_dict"])
        ts = ckpt["train_state"]
        optimizer.load_state_dict(ts["optimizer"])
        gen.set_state(ts["generator"])
        it, elapsed, history = ts["iteration"], ts["elapsed"], ts["history"]
        log(f"resuming at iteration {it} ({elapsed:.1f}s trained) from {ckpt_path}")

    def save() -> None:
        torch_save({"format": FORMAT, "kind": "nerf", "arch": cfg.model, "config": asdict(cfg),
                    "scene": scene_info(scene),
                    "state_dict": _state(coarse, fine), "metrics": {"history": history},
                    "train_state": {"optimizer": optimizer.state_dict(), "generator": gen.get_state(),
                                    "iteration": it, "elapsed": elapsed, "history": history}}, ckpt_path)

    def done() -> bool:
        return (cfg.iters is not None and it >= cfg.iters) or (cfg.seconds is not None and elapsed >= cfg.seconds)

    total = cfg.iters if cfg.iters is not None else None
    bar = tqdm(total=total, initial=it, desc=f"nerf {cfg.model}", unit="it", disable=None if progress else True)
    last_ckpt = time.perf_counter()
    step_gen_state, iteration_started = gen.get_state(), it
    try:
        while not done():
            t0 = time.perf_counter()
            step_gen_state = gen.get_state()  # an interrupted step is redone with the same randomness
            iteration_started = it
            # one batch of rays: random rays from all training views, or one whole random view
            if cfg.batch_rays > 0:
                idx = torch.randint(0, origins.shape[0], (cfg.batch_rays,), generator=gen)
            else:
                v = int(torch.randint(0, len(images), (1,), generator=gen))
                idx = torch.arange(v * n_pix, (v + 1) * n_pix)
            rendered = render_rays(coarse, origins[idx].to(device), dirs[idx].to(device), cfg.render, train=True,
                                   generator=gen, fine=fine)
            target = colors[idx].to(device)
            loss = nn.functional.mse_loss(rendered["rgb"], target)
            if "coarse_rgb" in rendered:
                loss = loss + nn.functional.mse_loss(rendered["coarse_rgb"], target)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            it += 1
            elapsed += time.perf_counter() - t0
            bar.update(1)
            if it % cfg.log_every == 0 or done():
                img = render_image(coarse, scene.height, scene.width, scene.focal, scene.poses[probe], cfg.render,
                                   cfg.chunk, fine)["rgb"]
                coarse.train()
                history.append({"iteration": it, "seconds": elapsed, "psnr": psnr(img.clamp(0, 1),
                                                                                  scene.images[probe])})
                bar.set_postfix(loss=f"{loss.item():.4f}", psnr=f"{history[-1]['psnr']:.2f}", s=f"{elapsed:.0f}")
            if time.perf_counter() - last_ckpt > cfg.checkpoint_every:
                save()
                last_ckpt = time.perf_counter()
    except KeyboardInterrupt:
        if it == iteration_started:
            gen.set_state(step_gen_state)
        save()
        log(f"interrupted at iteration {it}: checkpoint saved to {ckpt_path}; continue with --resume")
        raise
    finally:
        bar.close()
    save()
    res = evaluate_views(coarse, fine, scene, cfg)
    metrics = {"psnr": res["psnr"], "ssim": res["ssim"], "seconds": elapsed, "iterations": it,
               "iterations_per_s": it / max(elapsed, 1e-9), "model": cfg.model, "scene": scene.name,
               "test_views": res["indices"]}
    write_json(out / "metrics.json", metrics)
    write_json(out / "psnr_log.json", {"history": history, "probe_view": probe})
    log(f"{cfg.model}: {it} iterations in {elapsed:.1f}s, test PSNR {metrics['psnr']['mean']:.2f} dB, "
        f"SSIM {metrics['ssim']['mean']:.3f}")
    return {**metrics, "renders": res["images"], "depths": res["depths"]}
