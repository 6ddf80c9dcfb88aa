"""NeRF training, readable top to bottom: rays of the training views, a field, Adam, MSE on pixels.

The loop stops after ``iters`` steps or ``seconds`` of training time (evaluation time excluded), whichever
comes first, logs PSNR on one held-out view against training time (for PSNR-vs-time curves), saves a
checkpoint every ``checkpoint_every`` seconds and on Ctrl-C (at a step boundary), and resumes exactly from one.
After each step count in ``score_at`` it also scores the test views (time excluded too), so that a run trained
for equal time can be set against another at equal iterations.
"""

from __future__ import annotations

import math
import resource
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from neuralens.core.checkpoint import save_checkpoint
from neuralens.core.cpu_share import others_share, snapshot
from neuralens.core.errors import NeuralensError
from neuralens.core.io import write_json
from neuralens.core.progress import Progress, progress
from neuralens.core.resume import interruptible, resume_checkpoint
from neuralens.core.runtime import autocast_dtype, resolve_device, seed_everything
from neuralens.data.scenes import Scene
from neuralens.nerf.config import NerfConfig
from neuralens.nerf.fields import FIELDS, density_fn
from neuralens.nerf.metrics import psnr, ssim
from neuralens.nerf.model import NerfModel, build_model, field_kwargs
from neuralens.nerf.renderer import render_rays


def evaluate_views(model: NerfModel, scene: Scene, cfg: NerfConfig, indices: list[int] | None = None,
                   show_progress: bool = True) -> dict[str, Any]:
    """Render ``indices`` (default: the test split) and score them; returns metrics and the renders."""
    indices = scene.test_idx if indices is None else indices
    model.train(False)
    renders, depths, p, s = [], [], [], []
    views = progress(indices, "rendering test views", unit="view") if show_progress else indices
    for i in views:
        out = model.render_image(scene.camera, scene.poses[i], cfg)
        renders.append(out["rgb"].clamp(0, 1))
        depths.append(out["depth"])
        p.append(psnr(renders[-1], scene.images[i]))
        s.append(ssim(renders[-1], scene.images[i]))
    model.train(True)
    return {"psnr": {"mean": sum(p) / len(p), "per_view": p}, "ssim": {"mean": sum(s) / len(s), "per_view": s},
            "images": torch.stack(renders), "depths": torch.stack(depths), "indices": list(indices)}


def mean_scores(res: dict[str, Any]) -> dict[str, float]:
    """The mean test-view PSNR and SSIM of an :func:`evaluate_views` result or a run's metrics.json (what
    ``score_at`` keeps)."""
    return {"psnr": res["psnr"]["mean"], "ssim": res["ssim"]["mean"]}


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def scene_info(scene: Scene) -> dict[str, Any]:
    """What a checkpoint keeps about its scene: image size, intrinsics, bounds and the video path (a 360-degree
    orbit; for a forward-facing capture a spiral of the 90th-percentile camera offsets about the average pose)."""
    eyes = scene.poses[:, :3, 3].double()
    spiral = [float(r) for r in eyes.abs().quantile(0.9, dim=0)] if scene.ndc_near is not None else None
    radius = float(eyes.norm(dim=-1).mean())
    elevation = float(torch.rad2deg(torch.asin((eyes[:, 2] / eyes.norm(dim=-1)).clamp(-1, 1))).mean())
    cam = scene.camera
    return {"name": scene.name, "height": scene.height, "width": scene.width, "focal": scene.focal,
            "fx": cam.fx, "fy": cam.fy, "cx": cam.cx, "cy": cam.cy, "center": scene.center, "scale": scene.scale,
            "ndc_near": scene.ndc_near,
            "near": scene.near, "far": scene.far, "bound": scene.bound, "background": scene.background,
            "orbit_radius": radius, "orbit_elevation": elevation, "spiral_radii": spiral, "focus": scene.focus,
            "train_views": list(scene.train_idx), "test_views": list(scene.test_idx)}


def _optimizer(model: NerfModel, cfg: NerfConfig) -> torch.optim.Optimizer:
    """Adam; explicit grids get ``grid_lr``, networks get ``lr`` (the TensoRF split)."""
    nets = [m for name, m in model.modules().items() if name != "occ"]
    grids = [p for m in nets if hasattr(m, "grid_parameters") for p in m.grid_parameters()]
    grid_ids = {id(p) for p in grids}
    rest = [p for m in nets for p in m.parameters() if id(p) not in grid_ids]
    groups = [{"params": rest, "lr": cfg.lr, "base_lr": cfg.lr}]
    if grids:
        groups.append({"params": grids, "lr": cfg.grid_lr, "base_lr": cfg.grid_lr})
    return torch.optim.Adam(groups)


@dataclass
class TrainingRays:
    """The training views' pixels, as rays made on demand: memory stays at the images' own, whatever the
    resolution (every ray precomputed would take three times the images' memory again)."""

    scene: Scene
    pixel_offset: float
    views: Tensor  # (V,) scene index of each training view

    @classmethod
    def of(cls, scene: Scene, pixel_offset: float) -> TrainingRays:
        return cls(scene, pixel_offset, torch.tensor(scene.train_idx, dtype=torch.long))

    @property
    def n_pix(self) -> int:
        return self.scene.height * self.scene.width

    @property
    def n_views(self) -> int:
        return len(self.views)

    def batch(self, n_rays: int, gen: torch.Generator) -> Tensor:
        """Indices of ``n_rays`` random rays from all views, or (``n_rays`` = 0) of one whole random view."""
        if n_rays > 0:
            return torch.randint(0, self.n_views * self.n_pix, (n_rays,), generator=gen)
        v = int(torch.randint(0, self.n_views, (1,), generator=gen))
        return torch.arange(v * self.n_pix, (v + 1) * self.n_pix)

    def rays(self, idx: Tensor) -> tuple[Tensor, Tensor]:
        """Origins and directions of rays ``idx`` (each (n, 3))."""
        view, pix = idx // self.n_pix, idx % self.n_pix
        poses = self.scene.poses[self.views[view]]
        return self.scene.camera.pixel_rays(poses, pix // self.scene.width, pix % self.scene.width,
                                            self.pixel_offset)

    def _flat(self, idx: Tensor) -> Tensor:
        """Indices of rays ``idx`` into the scene's flattened pixels."""
        return self.views[idx // self.n_pix] * self.n_pix + idx % self.n_pix

    def targets(self, idx: Tensor, background: Tensor | None) -> Tensor:
        """Colours of rays ``idx``, re-composited on a per-ray ``background`` (n, 3) when one is given."""
        flat = self._flat(idx)
        colors = self.scene.images.reshape(-1, 3)[flat]
        if background is None:
            return colors
        if self.scene.alpha is None:
            raise NeuralensError("random backgrounds need images with an alpha channel")
        alpha = self.scene.alpha.reshape(-1)[flat]
        return colors + (1 - alpha)[:, None] * (background - self.scene.background)


@dataclass
class _Progress:
    """The loop's position; saved in checkpoints so a run resumes exactly."""

    it: int = 0
    elapsed: float = 0.0
    rays: int = 0  # rays trained on so far: / (H*W) it is the tiny_nerf notebook's iteration count (one image each)
    history: list[dict[str, float]] = field(default_factory=list)
    # test-view scores after the iterations of ``score_at`` (keys are iteration counts, as JSON keeps them)
    scored: dict[str, dict[str, float]] = field(default_factory=dict)
    # the training steps' precision, one entry per change ("fp32", "bf16"): a run resumed on another machine or
    # with another --precision trained partly in each
    precisions: list[str] = field(default_factory=list)

    def fraction(self, cfg: NerfConfig) -> float:
        fracs = [self.it / cfg.iters] if cfg.iters else []
        fracs += [self.elapsed / cfg.seconds] if cfg.seconds else []
        return min(1.0, max(fracs))

    def done(self, cfg: NerfConfig) -> bool:
        return ((cfg.iters is not None and self.it >= cfg.iters)
                or (cfg.seconds is not None and self.elapsed >= cfg.seconds))


def _loss(model: NerfModel, cfg: NerfConfig, rendered: dict[str, Tensor], target: Tensor) -> Tensor:
    """MSE of the (fine) render, plus the coarse pass's MSE (weighted) and the field's TV term when the recipe
    has them."""
    loss = nn.functional.mse_loss(rendered["rgb"], target)
    if "coarse_rgb" in rendered:
        loss = loss + cfg.coarse_weight * nn.functional.mse_loss(rendered["coarse_rgb"], target)
    if cfg.tv_weight > 0 and hasattr(model.coarse, "tv_loss"):
        loss = loss + cfg.tv_weight * model.coarse.tv_loss()
    return loss


def training_dtype(cfg: NerfConfig, device: torch.device) -> torch.dtype | None:
    """The autocast dtype of ``cfg``'s training steps (None: float32). ``auto`` lowers the precision only for a
    field whose steps are matrix products (FIELDS' ``matmul_bound``): a grid field's lookups barely speed up."""
    if cfg.precision == "auto" and not FIELDS.info(cfg.field).get("matmul_bound"):
        return None
    return autocast_dtype(device, cfg.precision)


#: how far the sample stream's seed sits from the ray stream's: beyond any seed a user gives, so that no run's
#: samples are drawn from another run's ray stream
SAMPLE_STREAM_OFFSET = 1 << 32


@dataclass
class Streams:
    """A run's two random streams. Ray batches (and random backgrounds) come from one seeded by ``seed`` alone, so
    variants trained with one seed see the same rays in the same order (common random numbers: a paired difference
    then measures the variant, not the luck of its batches); the other feeds what the variants draw differently
    (sample jitter, importance samples, occupancy refreshes)."""

    rays: torch.Generator
    samples: torch.Generator

    @classmethod
    def seeded(cls, seed: int) -> Streams:
        return cls(torch.Generator().manual_seed(seed), torch.Generator().manual_seed(seed + SAMPLE_STREAM_OFFSET))

    def state(self) -> dict[str, Tensor]:
        return {"generator": self.rays.get_state(), "sample_generator": self.samples.get_state()}

    def load(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state`."""
        self.rays.set_state(state["generator"])
        self.samples.set_state(state["sample_generator"])


def _step(model: NerfModel, optimizer: torch.optim.Optimizer, cfg: NerfConfig, rays: TrainingRays, gen: Streams,
          pos: _Progress, device: torch.device, amp_dtype: torch.dtype | None = None) -> tuple[float, int]:
    """One optimisation step on a random ray batch; returns the loss and the number of rays. The learning rate
    decays from each group's base rate to ``lr_decay`` times it over the budget. Under ``amp_dtype`` autocast
    covers the rendering only: rays are built in float32 and the renderer integrates in float32, so only the
    field's matrix products run in the lower precision."""
    if model.occ is not None:
        march_step = (cfg.render.far - cfg.render.near) / cfg.render.march_steps
        model.occ.update_every_n_steps(pos.it, density_fn(model.coarse), march_step, gen.samples)
    idx = rays.batch(model.rays_per_step(cfg.batch_rays), gen.rays)
    background = torch.rand(len(idx), 3, generator=gen.rays) if cfg.random_bg else None
    target = rays.targets(idx, background).to(device)
    origins, dirs = (x.to(device) for x in rays.rays(idx))
    bg = None if background is None else background.to(device)

    with torch.autocast(device.type, dtype=amp_dtype or torch.float32, enabled=amp_dtype is not None):
        rendered = render_rays(model.coarse, origins, dirs, cfg.render, train=True, generator=gen.samples,
                               fine=model.fine, occ=model.occ, background=bg)
    loss = _loss(model, cfg, rendered, target)
    factor = cfg.lr_decay ** pos.fraction(cfg)
    for group in optimizer.param_groups:
        group["lr"] = group["base_lr"] * factor
    optimizer.zero_grad(set_to_none=True)
    if loss.requires_grad:  # (no sample survived skipping: nothing to learn from this batch)
        loss.backward()
        optimizer.step()
    return loss.item(), len(idx)


def _upsample_due(model: NerfModel, cfg: NerfConfig, pos: _Progress) -> bool:
    """Resample the field's grids when the run has passed the next coarse-to-fine step; True if it did."""
    done = pos.fraction(cfg)
    target = max((int(res) for frac, res in cfg.upsample if done >= frac), default=0)
    if target <= getattr(model.coarse, "resolution", target):
        return False
    model.coarse.upsample(target)
    return True


def fit_to_scene(cfg: NerfConfig, scene: Scene) -> NerfConfig:
    """Take the scene's near/far, box and background into the render settings: the renderer's background
    constant is, by construction, the colour the training images are composited on."""
    cfg.render.near, cfg.render.far, cfg.render.background = scene.near, scene.far, scene.background
    if scene.bound is not None:
        cfg.render.bound = scene.bound
    return cfg


def check_config(cfg: NerfConfig, scene: Scene) -> None:
    """Refuse a run that cannot work, before anything is written."""
    if cfg.iters is None and cfg.seconds is None:
        raise NeuralensError("give --iters or --seconds (or both)")
    if cfg.render.n_samples < 2:
        raise NeuralensError("--samples must be at least 2")
    if cfg.random_bg and scene.alpha is None:
        raise NeuralensError(f"--random-bg needs images with an alpha channel; {scene.name} has none (its "
                             "background is fixed: use a Blender folder or an RGBA transforms.json)")
    field_kwargs(cfg)


#: what a resumed run must share with its checkpoint: the recipe's shape, and the seed and rays per step that make
#: it the same run (the scene is checked separately)
RESUME_KEYS = ("variant", "field", "field_kwargs", "mlp_width", "mlp_depth", "seed", "batch_rays")


def check_resume(cfg: NerfConfig, scene: Scene, out: str | Path) -> dict[str, Any]:
    """``OUT/checkpoint.pt`` if this run may continue it (same recipe, same scene); else one clear error.

    Called before anything is written, so a refused ``--resume`` leaves the run folder as it was.
    """
    path = Path(out) / "checkpoint.pt"
    ckpt = resume_checkpoint(path, "nerf", {k: getattr(cfg, k) for k in RESUME_KEYS})
    done = ckpt["train_state"].get("iteration", 0)
    if cfg.iters is not None and done > cfg.iters:  # it would be scored as if it had trained --iters steps
        raise NeuralensError(f"--resume: {path} has trained {done} iterations, more than --iters {cfg.iters}; give "
                             f"--iters {done} or more, or a new --out")
    have, want = ckpt.get("scene", {}), scene_info(scene)
    for key in ("name", "height", "width", "train_views"):
        if have.get(key) != want[key]:
            raise NeuralensError(f"--resume: {path} was trained on scene {have.get('name')!r} "
                                 f"({have.get('height')}x{have.get('width')}, {key} {have.get(key)!r}); this run "
                                 f"gives {want['name']!r} ({key} {want[key]!r}); use the same scene or a new --out")
    return ckpt


#: a time-budgeted run probes its held-out view at least this many times (its PSNR curve)
PROBES_PER_BUDGET = 10
#: the PSNR curve's probe renders at most this many pixels of its view (an even grid over the whole image):
#: a slow field's full-image probe could cost more than the steps between probes
PROBE_PIXELS = 1024


def probe_pixels(height: int, width: int, most: int = PROBE_PIXELS) -> tuple[Tensor, Tensor]:
    """Rows and columns of an even grid of at most ``most`` pixels covering the whole image."""
    stride = max(1, math.ceil(math.sqrt(height * width / most)))
    rows, cols = torch.meshgrid(torch.arange(stride // 2, height, stride), torch.arange(stride // 2, width, stride),
                                indexing="ij")
    return rows.reshape(-1), cols.reshape(-1)


def probe_view(scene: Scene) -> int:
    """The held-out view the PSNR curve follows: the one a blank render (the background colour) fits worst, so
    the curve cannot look good while the field renders nothing (lego's view 0 is mostly background: black scores
    15 dB there, 10.7 dB over the usual nine test views)."""
    return max(scene.test_idx, key=lambda i: float((scene.images[i] - scene.background).pow(2).mean()))


def train_nerf(cfg: NerfConfig, scene: Scene, out: str | Path, resume: bool = False, log: Any = print,
               progress: bool = True) -> dict[str, Any]:
    """Train on ``scene``'s training views; write ``checkpoint.pt``, ``metrics.json``, ``psnr_log.json``."""
    check_config(fit_to_scene(cfg, scene), scene)
    out = Path(out)
    ckpt_path = out / "checkpoint.pt"
    device = resolve_device(cfg.device)
    amp_dtype = training_dtype(cfg, device)
    seed_everything(cfg.seed)
    rays = TrainingRays.of(scene, cfg.render.pixel_offset)
    probe = probe_view(scene)
    probe_rows, probe_cols = probe_pixels(scene.height, scene.width)
    probe_target = scene.images[probe][probe_rows, probe_cols]
    model = build_model(cfg).to(device)
    gen = Streams.seeded(cfg.seed)
    pos = _Progress()
    ckpt = check_resume(cfg, scene, out) if resume else None
    if ckpt is not None:
        model.load_state_dict(ckpt["state_dict"])  # (may resample the grids: build the optimizer after)
    optimizer = _optimizer(model, cfg)
    if ckpt is not None:
        ts = ckpt["train_state"]
        optimizer.load_state_dict(ts["optimizer"])
        gen.load(ts)
        pos = _Progress(ts["iteration"], ts["elapsed"], ts["rays"], ts["history"], ts["scored"], ts["precisions"])
        log(f"resuming at iteration {pos.it} ({pos.elapsed:.1f}s trained) from {ckpt_path}")
    step_gen_state = gen.state()
    here = "bf16" if amp_dtype else "fp32"
    if pos.precisions[-1:] != [here]:
        pos.precisions.append(here)

    def save() -> None:
        save_checkpoint(ckpt_path, "nerf", cfg.variant, asdict(cfg), model.state_dict(), {"history": pos.history},
                        {"optimizer": optimizer.state_dict(), **step_gen_state,
                         "iteration": pos.it, "elapsed": pos.elapsed, "rays": pos.rays, "history": pos.history,
                         "scored": pos.scored, "precisions": pos.precisions},
                        scene=scene_info(scene))

    by_time = cfg.seconds is not None and (cfg.iters is None or cfg.seconds < cfg.iters)
    bar = Progress(cfg.seconds if by_time else cfg.iters, f"nerf {cfg.variant}", "s" if by_time else "it",
                   enabled=progress)
    bar.update(pos.elapsed if by_time else pos.it)
    # probe the held-out view every log_every iterations, and (time budgets) every tenth of the budget but at most
    # every second iteration, so that even a short run has a curve and a slow one is not probed more than trained
    next_probe = pos.elapsed + (cfg.seconds or math.inf) / PROBES_PER_BUDGET
    last_ckpt = time.perf_counter()
    # how much of the CPU others took meanwhile (a resumed run: since it resumed): a time budget's worth depends on it
    cpu_start = snapshot()
    with interruptible(save, ckpt_path, log) as guard:
        while not pos.done(cfg):
            t0 = time.perf_counter()
            step_gen_state = gen.state()  # an interrupted step is redone identically
            if _upsample_due(model, cfg, pos):
                optimizer = _optimizer(model, cfg)  # new grids, fresh moments (as TensoRF does)
            loss, n_rays = _step(model, optimizer, cfg, rays, gen, pos, device, amp_dtype)
            pos.it += 1
            pos.rays += n_rays
            dt = time.perf_counter() - t0
            pos.elapsed += dt
            step_gen_state = gen.state()
            bar.update(dt if by_time else 1)
            since = pos.it - (pos.history[-1]["iteration"] if pos.history else 0)
            if pos.it % cfg.log_every == 0 or pos.done(cfg) or (pos.elapsed >= next_probe and since >= 2):
                next_probe = pos.elapsed + (cfg.seconds or math.inf) / PROBES_PER_BUDGET
                model.train(False)
                rgb = model.render_pixels(scene.camera, scene.poses[probe], probe_rows, probe_cols, cfg)
                model.train(True)
                pos.history.append({"iteration": pos.it, "seconds": pos.elapsed, "images": pos.rays / rays.n_pix,
                                    "psnr": psnr(rgb.clamp(0, 1), probe_target)})
                bar.set_postfix(it=pos.it, loss=f"{loss:.4f}", psnr=f"{pos.history[-1]['psnr']:.2f}")
            if pos.it in cfg.score_at and not pos.done(cfg):  # (the last step is scored below anyway)
                pos.scored[str(pos.it)] = mean_scores(evaluate_views(model, scene, cfg, show_progress=progress))
            if time.perf_counter() - last_ckpt > cfg.checkpoint_every:
                save()
                last_ckpt = time.perf_counter()
            guard.check()
    bar.close()
    others = others_share(cpu_start, snapshot())
    save()
    res = evaluate_views(model, scene, cfg, show_progress=progress)
    if pos.it in cfg.score_at:
        pos.scored[str(pos.it)] = mean_scores(res)
    metrics = {"psnr": res["psnr"], "ssim": res["ssim"], "seconds": pos.elapsed, "iterations": pos.it,
               "rays_per_step": cfg.batch_rays or rays.n_pix, "images_of_rays": pos.rays / rays.n_pix,
               "iterations_per_s": pos.it / max(pos.elapsed, 1e-9), "precision": "+".join(pos.precisions),
               "model": cfg.variant, "scene": scene.name,
               "train_views": list(scene.train_idx), "test_views": res["indices"], "peak_rss_mb": peak_rss_mb(),
               "scored_at": pos.scored,
               "others_cpu_share": others}
    write_json(out / "metrics.json", metrics)
    write_json(out / "psnr_log.json", {"history": pos.history, "probe_view": probe})
    log(f"{cfg.variant}: {pos.it} iterations in {pos.elapsed:.1f}s ({metrics['precision']}), test PSNR "
        f"{metrics['psnr']['mean']:.2f} dB, SSIM {metrics['ssim']['mean']:.3f}")
    return {**metrics, "renders": res["images"], "depths": res["depths"]}
