"""NeRF training, readable top to bottom: rays of the training views, a field, Adam, MSE on pixels.

The loop stops after ``iters`` steps or ``seconds`` of training time (evaluation time excluded), whichever
comes first, logs PSNR on one held-out view against training time (for PSNR-vs-time curves), saves a
checkpoint every ``checkpoint_every`` seconds and on Ctrl-C, and resumes exactly from one.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, replace
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
from neuralens.nerf.occupancy import OccupancyGrid
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
    grid_lr: float = 0.02  # learning rate of explicit grids (fields with grid_parameters())
    lr_decay: float = 1.0  # learning-rate factor reached at the end of the budget (1: constant)
    tv_weight: float = 0.0  # total-variation weight for fields with tv_loss()
    occ_update_every: int = 16
    occ_warmup: int = 32  # iterations before the occupancy grid starts skipping
    warmup_march_steps: int = 48  # cheaper marching (and a quarter of the rays) until the grid skips
    seed: int = 0
    device: str = "auto"
    log_every: int = 25  # iterations between PSNR probes on one held-out view
    checkpoint_every: float = 60.0  # seconds
    chunk: int = 1024  # rays per rendering chunk: bounds memory (a 100x100 tiny_nerf frame stays under 1 GB)


@dataclass
class Fields:
    """Everything a NeRF run learns or keeps: the field, NeRF's separate fine field, the occupancy grid."""

    coarse: nn.Module
    fine: nn.Module | None = None
    occ: OccupancyGrid | None = None

    def modules(self) -> dict[str, nn.Module]:
        return {k: m for k, m in (("coarse", self.coarse), ("fine", self.fine), ("occ", self.occ)) if m is not None}

    def to(self, device: torch.device) -> Fields:
        for m in self.modules().values():
            m.to(device)
        return self

    def train(self, mode: bool = True) -> None:
        for m in self.modules().values():
            m.train(mode)

    def state_dict(self) -> dict[str, Any]:
        return {f"{name}.{k}": v.detach().cpu() for name, m in self.modules().items()
                for k, v in m.state_dict().items()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for name, m in self.modules().items():
            m.load_state_dict({k[len(name) + 1:]: v for k, v in state.items() if k.startswith(name + ".")})

    def render_image(self, scene_or_hw: tuple[int, int, float], pose: torch.Tensor, cfg: NerfConfig
                     ) -> dict[str, torch.Tensor]:
        h, w, focal = scene_or_hw
        return render_image(self.coarse, h, w, focal, pose, cfg.render, cfg.chunk, self.fine, self.occ)


def build_fields(cfg: NerfConfig) -> Fields:
    """The field, a fine field for hierarchical sampling, and an occupancy grid when skipping is on."""
    kw = dict(cfg.field_kwargs)
    if cfg.render.use_viewdirs:
        kw.setdefault("use_viewdirs", True)
    coarse = create_field(cfg.model, **kw)
    fine = create_field(cfg.model, **kw) if cfg.render.n_importance > 0 else None
    occ = OccupancyGrid(bound=cfg.render.bound) if cfg.render.occupancy else None
    return Fields(coarse, fine, occ)


def config_from_dict(d: dict[str, Any]) -> NerfConfig:
    d = dict(d)
    d["render"] = RenderSettings(**d.get("render", {}))
    return NerfConfig(**d)


def density_fn(net: nn.Module) -> Any:
    """sigma(x) of a field: its own ``density`` method, or its forward with dummy view directions."""
    if hasattr(net, "density"):
        return net.density
    return lambda x: net(x, torch.zeros_like(x))[0]


def evaluate_views(fields: Fields, scene: Scene, cfg: NerfConfig, indices: list[int] | None = None
                   ) -> dict[str, Any]:
    """Render ``indices`` (default: the test split) and score them; returns metrics and the renders."""
    indices = scene.test_idx if indices is None else indices
    fields.train(False)
    renders, depths, p, s = [], [], [], []
    for i in indices:
        out = fields.render_image((scene.height, scene.width, scene.focal), scene.poses[i], cfg)
        renders.append(out["rgb"].clamp(0, 1))
        depths.append(out["depth"])
        p.append(psnr(renders[-1], scene.images[i]))
        s.append(ssim(renders[-1], scene.images[i]))
    fields.train(True)
    return {"psnr": {"mean": sum(p) / len(p), "per_view": p}, "ssim": {"mean": sum(s) / len(s), "per_view": s},
            "images": torch.stack(renders), "depths": torch.stack(depths), "indices": list(indices)}


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def scene_info(scene: Scene) -> dict[str, Any]:
    """What a checkpoint keeps about its scene: image size, intrinsics, bounds and the camera orbit."""
    eyes = scene.poses[:, :3, 3].double()
    radius = float(eyes.norm(dim=-1).mean())
    elevation = float(torch.rad2deg(torch.asin((eyes[:, 2] / eyes.norm(dim=-1)).clamp(-1, 1))).mean())
    return {"name": scene.name, "height": scene.height, "width": scene.width, "focal": scene.focal,
            "near": scene.near, "far": scene.far, "orbit_radius": radius, "orbit_elevation": elevation}


def _optimizer(fields: Fields, cfg: NerfConfig) -> torch.optim.Optimizer:
    """Adam; explicit grids get ``grid_lr``, networks get ``lr`` (the TensoRF split)."""
    nets = [m for name, m in fields.modules().items() if name != "occ"]
    grids = [p for m in nets if hasattr(m, "grid_parameters") for p in m.grid_parameters()]
    grid_ids = {id(p) for p in grids}
    rest = [p for m in nets for p in m.parameters() if id(p) not in grid_ids]
    groups = [{"params": rest, "lr": cfg.lr, "base_lr": cfg.lr}]
    if grids:
        groups.append({"params": grids, "lr": cfg.grid_lr, "base_lr": cfg.grid_lr})
    return torch.optim.Adam(groups)


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
    origins, dirs = get_rays(scene.height, scene.width, scene.focal, poses, pixel_offset=cfg.render.pixel_offset)
    origins, dirs, colors = origins.reshape(-1, 3), dirs.reshape(-1, 3), images.reshape(-1, 3)
    n_pix = scene.height * scene.width
    probe = scene.test_idx[0]
    hwf = (scene.height, scene.width, scene.focal)

    # --- model and optimiser
    fields = build_fields(cfg).to(device)
    optimizer = _optimizer(fields, cfg)
    gen = torch.Generator().manual_seed(cfg.seed)
    it, elapsed, history = 0, 0.0, []
    march_step = (cfg.render.far - cfg.render.near) / cfg.render.march_steps

    if resume:
        if not ckpt_path.is_file():
            raise NeuralensError(f"--resume: no checkpoint at {ckpt_path}")
        ckpt = load_checkpoint(ckpt_path, kind="nerf")
        if ckpt["arch"] != cfg.model:
            raise NeuralensError(f"--resume: checkpoint is {ckpt['arch']!r}, this run asks for {cfg.model!r}")
        fields.load_state_dict(ckpt["state_dict"])
        ts = ckpt["train_state"]
        optimizer.load_state_dict(ts["optimizer"])
        gen.set_state(ts["generator"])
        it, elapsed, history = ts["iteration"], ts["elapsed"], ts["history"]
        log(f"resuming at iteration {it} ({elapsed:.1f}s trained) from {ckpt_path}")

    def save() -> None:
        torch_save({"format": FORMAT, "kind": "nerf", "arch": cfg.model, "config": asdict(cfg),
                    "scene": scene_info(scene), "state_dict": fields.state_dict(), "metrics": {"history": history},
                    "train_state": {"optimizer": optimizer.state_dict(), "generator": gen.get_state(),
                                    "iteration": it, "elapsed": elapsed, "history": history}}, ckpt_path)

    def progress_frac() -> float:
        fracs = [it / cfg.iters] if cfg.iters else []
        fracs += [elapsed / cfg.seconds] if cfg.seconds else []
        return min(1.0, max(fracs))

    def done() -> bool:
        return (cfg.iters is not None and it >= cfg.iters) or (cfg.seconds is not None and elapsed >= cfg.seconds)

    bar = tqdm(total=cfg.iters, initial=it, desc=f"nerf {cfg.model}", unit="it", disable=None if progress else True)
    last_ckpt = time.perf_counter()
    step_gen_state, iteration_started = gen.get_state(), it
    try:
        while not done():
            t0 = time.perf_counter()
            step_gen_state, iteration_started = gen.get_state(), it  # an interrupted step is redone identically
            # refresh the occupancy grid from the field every few steps, once the field has taken shape
            if fields.occ is not None and it >= cfg.occ_warmup and it % cfg.occ_update_every == 0:
                fields.occ.update(density_fn(fields.coarse), march_step, gen)
            # before the grid can skip anything every sample is evaluated: march coarser, with fewer rays
            warming = fields.occ is not None and it < cfg.occ_warmup
            settings = replace(cfg.render, march_steps=cfg.warmup_march_steps) if warming else cfg.render
            n_rays = max(1, cfg.batch_rays // 4) if warming else cfg.batch_rays
            # one batch of rays: random rays from all training views, or one whole random view
            if n_rays > 0:
                idx = torch.randint(0, origins.shape[0], (n_rays,), generator=gen)
            else:
                v = int(torch.randint(0, len(images), (1,), generator=gen))
                idx = torch.arange(v * n_pix, (v + 1) * n_pix)
            rendered = render_rays(fields.coarse, origins[idx].to(device), dirs[idx].to(device), settings,
                                   train=True, generator=gen, fine=fields.fine, occ=fields.occ)
            target = colors[idx].to(device)
            loss = nn.functional.mse_loss(rendered["rgb"], target)
            if "coarse_rgb" in rendered:
                loss = loss + nn.functional.mse_loss(rendered["coarse_rgb"], target)
            if cfg.tv_weight > 0 and hasattr(fields.coarse, "tv_loss"):
                loss = loss + cfg.tv_weight * fields.coarse.tv_loss()
            if cfg.lr_decay != 1.0:
                for group in optimizer.param_groups:
                    group["lr"] = group["base_lr"] * cfg.lr_decay ** progress_frac()
            optimizer.zero_grad(set_to_none=True)
            if loss.requires_grad:  # (no sample survived skipping: nothing to learn from this batch)
                loss.backward()
                optimizer.step()
            it += 1
            elapsed += time.perf_counter() - t0
            bar.update(1)
            if it % cfg.log_every == 0 or done():
                img = fields.render_image(hwf, scene.poses[probe], cfg)["rgb"]
                fields.train(True)
                history.append({"iteration": it, "seconds": elapsed,
                                "psnr": psnr(img.clamp(0, 1), scene.images[probe])})
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
    res = evaluate_views(fields, scene, cfg)
    metrics = {"psnr": res["psnr"], "ssim": res["ssim"], "seconds": elapsed, "iterations": it,
               "iterations_per_s": it / max(elapsed, 1e-9), "model": cfg.model, "scene": scene.name,
               "test_views": res["indices"], "peak_rss_mb": peak_rss_mb()}
    write_json(out / "metrics.json", metrics)
    write_json(out / "psnr_log.json", {"history": history, "probe_view": probe})
    log(f"{cfg.model}: {it} iterations in {elapsed:.1f}s, test PSNR {metrics['psnr']['mean']:.2f} dB, "
        f"SSIM {metrics['ssim']['mean']:.3f}")
    return {**metrics, "renders": res["images"], "depths": res["depths"]}
