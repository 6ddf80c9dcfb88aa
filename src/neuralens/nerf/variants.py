"""Named NeRF recipes: the faithful tiny_nerf baseline and its improvements, each one switch away.

``make_config(name, **overrides)`` turns a name into a :class:`NerfConfig`; overrides that are ``None`` keep the
recipe's value. Each recipe records its own name as ``variant``, so checkpoints and resume tell them apart.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from neuralens.core.registry import Registry
from neuralens.nerf.config import NerfConfig, RenderSettings, apply_overrides

#: the variant ``neuralens nerf train`` uses when none is named
DEFAULT_VARIANT = "fast"
#: the baseline every improvement is measured against
BASELINE = "tiny"


#: rays per step of the MLP recipes: in the few images of rays 2 CPU cores train in minutes, learning is bound by
#: the number of Adam steps (lego, 3 images of rays: 256-ray steps 12.95 dB on the probe view; BENCHMARKS.md)
MLP_BATCH_RAYS = 256


def _tiny() -> NerfConfig:
    """The tiny_nerf notebook: 8x256 MLP, L=6 without pi, 64 jittered samples in [2, 6], Adam 5e-4, no view
    directions. The notebook renders one whole image per step; random-ray batches are the CPU default."""
    return NerfConfig(variant="tiny", field="tiny", render=RenderSettings(n_samples=64, sampler="tiny"), lr=5e-4,
                      batch_rays=MLP_BATCH_RAYS)


def _tiny_notebook() -> NerfConfig:
    """Exactly the notebook's step: one whole random training image per iteration."""
    return replace(_tiny(), variant="tiny_notebook", batch_rays=0)


#: the improvements' field: the baseline's ReLU density dies when its raw output turns negative everywhere (black
#: for good: the baseline with seed 1, tiny_viewdirs with seed 0, tiny_hier with seed 6 on lego); mip-NeRF's shifted
#: softplus (as nerfacc and nerfstudio) always has a gradient. It replaced three guards of a ReLU density (a bias
#: start, a learning-rate warm-up, steps retaken with noise) at no loss (benchmarks/nerf_density.py, BENCHMARKS.md).
#: Its colour is mip-NeRF's widened sigmoid with a slope that cannot vanish: fitting lego's black background, the
#: plain sigmoid drove tiny_hier (seed 2, half size) into an opaque wall of raw colour -25, where its gradient is
#: zero (black for good). BENCHMARKS.md
LIVE_FIELD = {"density": "softplus", "colour": "wide_sigmoid"}
#: tiny_hier's coarse-pass loss weight: mip-NeRF's 0.1, so the one shared field fits the render it is judged by
HIER_COARSE_WEIGHT = 0.1


def _improved(variant: str) -> NerfConfig:
    """The baseline with a field that cannot fall dark for good (LIVE_FIELD)."""
    return replace(_tiny(), variant=variant, field_kwargs=dict(LIVE_FIELD))


def _tiny_hier() -> NerfConfig:
    """+ improvement 1: hierarchical sampling (64 coarse + 64 importance samples), one MLP for both passes."""
    cfg = replace(_improved("tiny_hier"), separate_fine=False, coarse_weight=HIER_COARSE_WEIGHT)
    cfg.render.n_importance = 64
    cfg.render.sampler = "stratified"
    return cfg


def _tiny_viewdirs() -> NerfConfig:
    """+ improvement 2: view direction input (a colour branch fed gamma(d)) for view-dependent colour."""
    cfg = _improved("tiny_viewdirs")
    cfg.render.use_viewdirs = True
    return cfg


def _vm(variant: str, occupancy: bool) -> NerfConfig:
    return NerfConfig(variant=variant, field="vm", field_kwargs={"resolution": 128, "use_viewdirs": True},
                      render=RenderSettings(n_samples=128, sampler="stratified", use_viewdirs=True,
                                            occupancy=occupancy, march_steps=144, bound=1.5, pixel_offset=0.5,
                                            weight_threshold=1e-4 if occupancy else 0.0),
                      lr=4e-3, grid_lr=0.04, lr_decay=0.1, tv_weight=0.0, batch_rays=4096, log_every=50)


def _vm_dense() -> NerfConfig:
    """+ improvement 3a: the factorised grid field (TensoRF VM) with view directions, every sample evaluated."""
    return _vm("vm_dense", occupancy=False)


def _fast() -> NerfConfig:
    """+ improvement 3b: the grid field with empty-space skipping from an occupancy grid, a decaying LR, colour
    only where a sample's weight can show, and coarse-to-fine grids (64 -> 96 -> 128 cells per axis at 10% and
    25% of the budget: the coarse grid settles the shape in cheap steps, the fine one adds detail)."""
    cfg = _vm("fast", occupancy=True)
    cfg.field_kwargs["resolution"] = 64
    cfg.upsample = [[0.1, 96], [0.25, 128]]
    cfg.forward_facing = dict(FORWARD_FACING)
    return cfg


#: the grid field on forward-facing captures: every ray ends on a surface, so an occupancy grid skips little
#: (measured on the builtin-ff room: 38 of 48 marched samples kept) while its early cuts leave holes that the
#: field fills with fog; dense stratified samples in NDC, fewer of them, and smaller batches (more steps) learn it
FORWARD_FACING = {"occupancy": False, "weight_threshold": 0.0, "n_samples": 32, "batch_rays": 1024}


_LIVE_DOC = ("Against going dark for good: the density is mip-NeRF's shifted softplus, which always has a gradient "
             "(the baseline's ReLU has none once its raw output is negative everywhere), and the colour is "
             "mip-NeRF's widened sigmoid, which reaches black at a finite value and keeps a gradient.")

#: each recipe with what it is (the report prints it beside the measured numbers)
VARIANTS: Registry[Callable[[], NerfConfig]] = Registry("NeRF variant")
VARIANTS.register("tiny", _tiny, doc=(
    'The baseline: a faithful port of the tiny_nerf notebook (8x256 ReLU MLP, gamma(x) with L=6 and no pi, 64 '
    f'jittered samples in [2, 6], Adam 5e-4, no view directions), trained on random batches of {MLP_BATCH_RAYS} '
    'rays.'))
VARIANTS.register("tiny_notebook", _tiny_notebook, doc=(
    'The baseline exactly as the notebook steps: one whole random training image per iteration.'))
VARIANTS.register("tiny_hier", _tiny_hier, doc=(
    "Hierarchical sampling (NeRF's second pass): a coarse pass with 64 stratified samples gives weights, 64 more "
    'samples are drawn from them by inverse-CDF sampling and all 128 are rendered. Samples concentrate on '
    "surfaces. One MLP serves both passes (mip-NeRF's choice; NeRF trains a second one): both losses train it (the"
    f' coarse one weighted {HIER_COARSE_WEIGHT:g}, as in mip-NeRF) and the second pass reuses its 64 coarse outputs,'
    " so a step costs twice the baseline's network evaluations, "
    'not three times. ' + _LIVE_DOC))
VARIANTS.register("tiny_viewdirs", _tiny_viewdirs, doc=(
    "View directions: the MLP's colour head also takes gamma(d), so specular highlights can move with the viewer;"
    ' density stays a function of position only. ' + _LIVE_DOC))
VARIANTS.register("vm_dense", _vm_dense, doc=(
    'A factorised grid field (TensoRF VM): density and appearance are sums of plane x line products read with '
    'grid_sample, colour from a 2-layer MLP with view direction; every sample evaluated.'))
VARIANTS.register("fast", _fast, doc=(
    "The grid field plus empty-space skipping: an occupancy grid (64^3, refreshed every 16 steps from the field's"
    ' own density) drops samples in empty cells before the field is called, rays are rendered packed with per-ray'
    ' sample counts, and the learning rate decays to 0.1x over the budget. Colour is looked up only for samples '
    "whose rendering weight reaches 1e-4 (TensoRF's appearance mask): samples behind a surface or in near-empty "
    'space cost only the density lookup. The grids start coarse (64 cells per axis) and are resampled to 96 and '
    "128 at 10% and 25% of the budget (TensoRF's coarse-to-fine): the coarse grid settles the shape in cheap, "
    'well-conditioned steps. On forward-facing captures (NDC rays), where every ray ends on a surface and '
    f"skipping cannot pay, it samples {FORWARD_FACING['n_samples']} stratified depths per ray densely, "
    f"{FORWARD_FACING['batch_rays']} rays per step."))


def make_config(name: str, forward_facing: bool = False, **overrides: Any) -> NerfConfig:
    """The recipe ``name`` with ``overrides`` (fields of NerfConfig or of its RenderSettings) applied; for a
    ``forward_facing`` scene (NDC rays) the recipe's own forward-facing settings come first."""
    cfg = VARIANTS.get(name)()
    if forward_facing:
        apply_overrides(cfg, **cfg.forward_facing)
    return apply_overrides(cfg, **overrides)
