"""What a NeRF run is: the recipe (variant, field, sampling, rendering) and the training budget.

Fields with help text are ``neuralens nerf train`` options; there their default is "the variant's value", so
the option list and the config cannot drift apart. Free of torch, so the command line declares and checks them
before torch is imported.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, fields
from typing import Any

from neuralens.core.cliargs import (
    PRECISIONS,
    device_name,
    iteration_list,
    nonneg_int,
    option,
    positive_float,
    positive_int,
)
from neuralens.core.errors import NeuralensError
from neuralens.core.registry import Registry

#: training samplers along rays, ``fn(near, far, n_samples, n_rays, generator, device) -> t (n_rays, n_samples)``;
#: adding one is a function and one line here (or ``SAMPLERS.register(name, fn)`` from Python). Evaluation always
#: samples uniformly.
SAMPLERS: Registry[Any] = Registry("sampler")
SAMPLERS.register_lazy("tiny", "neuralens.nerf.sampling:tiny_nerf_samples",
                       doc="the tiny_nerf notebook's jitter: linspace + U[0,1) bin widths (may pass far)")
SAMPLERS.register_lazy("stratified", "neuralens.nerf.sampling:stratified_samples",
                       doc="one uniform depth inside each of N equal bins (NeRF eq. 2)")
SAMPLERS.register_lazy("uniform", "neuralens.nerf.sampling:uniform_train_samples", doc="fixed evenly spaced depths")


@dataclass
class RenderSettings:
    near: float = 2.0
    far: float = 6.0
    n_samples: int = option(64, "samples per ray", flag="--samples", type=positive_int)
    n_importance: int = 0  # > 0: hierarchical second pass (NeRF's fine network)
    sampler: str = option("tiny", "training sampler along rays (evaluation samples uniformly): "
                                  f"{', '.join(SAMPLERS.names())}")
    background: float = 0.0  # grey level behind the samples: the one the training images are composited on
    use_viewdirs: bool = False
    occupancy: bool = False  # build an occupancy grid for empty-space skipping (packed samples)
    march_steps: int = 192  # the grid's fixed-step samples per ray over [near, far] before skipping
    bound: float = 1.5  # scene box [-bound, bound]^3 of the occupancy grid
    pixel_offset: float = 0.0  # 0: rays through pixel corners (the original code); 0.5: through pixel centres
    weight_threshold: float = 0.0  # > 0: packed samples of lower weight skip the colour lookup (TensoRF's mask)


@dataclass
class NerfConfig:
    variant: str = "tiny"  # the recipe's name (see variants.py), recorded in checkpoints
    field: str = "tiny"  # the field it builds (fields.FIELDS)
    field_kwargs: dict[str, Any] = dataclasses.field(default_factory=dict)
    # hierarchical sampling (render.n_importance > 0): True = NeRF's separate fine field; False = one field for
    # both passes (mip-NeRF), trained by both losses, its coarse outputs reused by the second pass
    separate_fine: bool = True
    # the coarse pass's loss weight beside the fine pass's 1 (NeRF: 1; mip-NeRF: 0.1, so one shared field fits
    # the render it is judged by and the coarse pass only has to place the second pass's samples)
    coarse_weight: float = 1.0
    render: RenderSettings = dataclasses.field(default_factory=RenderSettings)
    iters: int | None = option(1000, "training iterations (default 1000 without --seconds)", type=positive_int)
    seconds: float | None = option(None, "training-time budget in seconds", type=positive_float)
    batch_rays: int = option(1024, "rays per step; 0 = one whole image per step (tiny_nerf)", type=nonneg_int)
    random_bg: bool = option(False, "train on a random background colour per ray (needs RGBA images): empty space "
                                   "must then be learnt as transparent, not as the background colour",
                             flag="--random-bg", action="store_true")
    lr: float = option(5e-4, "learning rate of the networks", type=positive_float)
    grid_lr: float = 0.02  # learning rate of explicit grids (fields with grid_parameters())
    lr_decay: float = 1.0  # learning-rate factor reached at the end of the budget (1: constant)
    tv_weight: float = 0.0  # total-variation weight for fields with tv_loss()
    # coarse-to-fine: [budget fraction, grid resolution] pairs; the field's grids are resampled when the run's
    # progress passes each fraction (fields with upsample())
    upsample: list[list[float]] = dataclasses.field(default_factory=list)
    occ_update_every: int = 16
    occ_warmup: int = 32  # iterations before the occupancy grid starts skipping
    warmup_march_steps: int = 48  # cheaper marching (and a quarter of the rays) until the grid skips
    # settings a forward-facing scene (NDC rays, every ray ends on a surface) replaces, as apply_overrides takes
    # them; recorded so a checkpoint says what its run used
    forward_facing: dict[str, Any] = dataclasses.field(default_factory=dict)
    mlp_width: int | None = option(None, "MLP width override (tiny fields)", flag="--width", type=positive_int)
    mlp_depth: int | None = option(None, "MLP depth override (tiny fields)", flag="--depth", type=positive_int)
    seed: int = option(0, "seed for every random choice", type=nonneg_int)
    # another run's iteration counts: scoring this run's test views there compares the two at equal iterations
    # even when they trained for equal time (nerf compare scores the baseline at each improvement's count)
    score_at: tuple[int, ...] = option((), "also score the test views after these iterations, e.g. 247,391 "
                                           "(metrics.json: scored_at)", type=iteration_list)
    device: str = option("auto", "auto | cpu | cuda[:N]", type=device_name)
    # the field's arithmetic in training steps; rendering integrates in float32 and evaluation stays float32
    precision: str = option("auto", "autocast dtype of the training step's field; auto = bf16 for an MLP field "
                                    "where the CPU/GPU has it natively (evaluation stays float32)",
                            choices=PRECISIONS)
    log_every: int = 25  # iterations between PSNR probes on one held-out view
    checkpoint_every: float = 60.0  # seconds
    chunk: int = 1024  # rays per rendering chunk: bounds memory (a 100x100 tiny_nerf frame stays under 1 GB)


def apply_overrides(cfg: NerfConfig, **overrides: Any) -> NerfConfig:
    """Set fields of ``cfg`` or of its ``render`` settings by name (``None`` keeps the recipe's value).

    A time budget without an iteration count means "train for that long": ``iters`` is then cleared.
    """
    own = {f.name for f in fields(NerfConfig)}
    render = {f.name for f in fields(RenderSettings)}
    given = {k: v for k, v in overrides.items() if v is not None}
    if "seconds" in given and "iters" not in given:
        cfg.iters = None
    for key, value in given.items():
        if key in own:
            setattr(cfg, key, value)
        elif key in render:
            setattr(cfg.render, key, value)
        else:
            raise NeuralensError(f"unknown NeRF setting {key!r}")
    return cfg


def config_from_dict(d: dict[str, Any]) -> NerfConfig:
    """Inverse of ``dataclasses.asdict`` (a checkpoint's config); settings this version does not know are refused
    in one line (a checkpoint of another neuralens)."""
    unknown = sorted((set(d) - {f.name for f in fields(NerfConfig)})
                     | {f"render.{k}" for k in set(d.get("render", {})) - {f.name for f in fields(RenderSettings)}})
    if unknown:
        raise NeuralensError(f"the checkpoint's NeRF config has settings this neuralens does not know "
                             f"({', '.join(unknown)}): it was written by another version; retrain it")
    return NerfConfig(**{**d, "render": RenderSettings(**d.get("render", {}))})
