"""Named NeRF recipes: the faithful tiny_nerf baseline and its improvements, each one switch away.

``make_config(name, ...)`` turns a name into a :class:`NerfConfig`; command-line overrides that are ``None``
keep the recipe's value.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from neuralens.errors import NeuralensError
from neuralens.nerf.pipeline import RenderSettings
from neuralens.nerf.trainer import NerfConfig


def _tiny() -> NerfConfig:
    """The tiny_nerf notebook: 8x256 MLP, L=6 without pi, 64 jittered samples in [2, 6], Adam 5e-4, no view
    directions. The notebook renders one whole image per step; random-ray batches (1024) are the CPU default."""
    return NerfConfig(model="tiny", render=RenderSettings(n_samples=64, sampler="tiny"), lr=5e-4, batch_rays=1024)


def _tiny_notebook() -> NerfConfig:
    """Exactly the notebook's step: one whole random training image per iteration."""
    return replace(_tiny(), batch_rays=0)


def _tiny_hier() -> NerfConfig:
    """+ improvement 1: NeRF's hierarchical second pass (64 coarse + 64 importance samples, separate fine MLP)."""
    cfg = _tiny()
    cfg.render.n_importance = 64
    cfg.render.sampler = "stratified"
    return cfg


def _tiny_viewdirs() -> NerfConfig:
    """+ improvement 2: view direction input (a colour branch fed gamma(d)) for view-dependent colour."""
    cfg = _tiny()
    cfg.render.use_viewdirs = True
    return cfg


def _vm(occupancy: bool) -> NerfConfig:
    return NerfConfig(model="vm", field_kwargs={"resolution": 128, "use_viewdirs": True},
                      render=RenderSettings(n_samples=128, sampler="stratified", use_viewdirs=True,
                                            occupancy=occupancy, march_steps=144, bound=1.5, pixel_offset=0.5),
                      lr=4e-3, grid_lr=0.04, lr_decay=0.1, tv_weight=0.0, batch_rays=4096, log_every=50)


def _vm_dense() -> NerfConfig:
    """+ improvement 3a: the factorised grid field (TensoRF VM) with view directions, every sample evaluated."""
    return _vm(occupancy=False)


def _fast() -> NerfConfig:
    """+ improvement 3b: the grid field with empty-space skipping from an occupancy grid and a decaying LR."""
    return _vm(occupancy=True)


VARIANTS: dict[str, Callable[[], NerfConfig]] = {
    "tiny": _tiny,
    "tiny_notebook": _tiny_notebook,
    "tiny_hier": _tiny_hier,
    "tiny_viewdirs": _tiny_viewdirs,
    "vm_dense": _vm_dense,
    "fast": _fast,
}


def make_config(name: str, iters: int | None = None, seconds: float | None = None, seed: int = 0,
                device: str = "auto", batch_rays: int | None = None, lr: float | None = None,
                samples: int | None = None, width: int | None = None, depth: int | None = None,
                near: float | None = None, far: float | None = None) -> NerfConfig:
    if name not in VARIANTS:
        raise NeuralensError(f"unknown NeRF model {name!r}; available: {', '.join(VARIANTS)}")
    cfg = VARIANTS[name]()
    cfg.iters, cfg.seconds, cfg.seed, cfg.device = iters, seconds, seed, device
    if batch_rays is not None:
        if batch_rays < 0:
            raise NeuralensError(f"--batch-rays must be >= 0, got {batch_rays}")
        cfg.batch_rays = batch_rays
    if lr is not None:
        cfg.lr = lr
    if samples is not None:
        cfg.render.n_samples = samples
    kw: dict[str, Any] = dict(cfg.field_kwargs)
    if width is not None:
        kw["width"] = width
    if depth is not None:
        kw["depth"] = depth
    cfg.field_kwargs = kw
    if near is not None:
        cfg.render.near = near
    if far is not None:
        cfg.render.far = far
    return cfg
