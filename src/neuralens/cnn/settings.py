"""Settings of the CNN study's runs and their checks, free of torch so the command line can use them first."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from neuralens.core.cliargs import nonneg_int, option, positive_int
from neuralens.core.errors import NeuralensError
from neuralens.core.registry import Registry

#: how a landscape's random directions are drawn: ``fn(model, generator) -> [tensor per parameter]``. Adding a
#: method is one function and one line here (or ``DIRECTIONS.register(name, fn)`` from Python).
DIRECTIONS: Registry[Callable[..., Any]] = Registry("direction method")
DIRECTIONS.register_lazy("filter", "neuralens.cnn.landscape:filter_normalized_direction",
                         doc="random, each output filter scaled to its weight filter's norm (Li et al. 2018)")
DIRECTIONS.register_lazy("layer", "neuralens.cnn.landscape:layer_normalized_direction",
                         doc="random, each weight tensor scaled to that tensor's norm")


def check_landscape_steps(steps: int) -> None:
    """The model itself must be a grid point: an odd number of steps, at least 3."""
    if steps % 2 == 0 or steps < 3:
        raise NeuralensError(f"--steps must be odd and >= 3 so the model itself is a grid point, got {steps}")


@dataclass
class LandscapeSettings:
    """How one landscape is measured: the plane's grid, the data it is measured on, the directions and the
    sharpness measures. The CLI and the demo build this; the run function takes nothing else about the method."""

    steps: int = 21  # grid points per axis (odd: the model itself is the centre)
    distance: float = 1.0  # the grid covers [-distance, distance]^2
    eval_size: int = 512  # test images the loss is measured on
    seed: int = 0  # seed of the first direction pair (and of the initial weights of untrained models)
    directions: str = "filter"  # a registered direction method (neuralens.cnn.landscape.DIRECTIONS)
    direction_seeds: int = 1  # planes the sharpness rings are measured on (their spread is reported)
    ring_points: int = 8  # points on each sharpness circle (radius 0.5 and 1)
    hessian_steps: int = 0  # opt-in Lanczos steps for the top Hessian eigenvalue (the Hessian is `neuralens hessian`'s)
    hessian_seeds: int = 2  # probe seeds of the Hessian numbers (their spread is reported)
    trace_probes: int = 0  # Hutchinson probes per seed for the Hessian trace (0: skip)
    interp_steps: int = 21  # points on the init -> trained line
    batch_size: int = 128  # images per forward pass
    figures: bool = True  # this model's contour/surface/1-D figures (a comparison of several draws its own)
    device: str = "auto"  # where the model runs (auto: CUDA when present)

    def check(self) -> None:
        check_landscape_steps(self.steps)
        DIRECTIONS.check(self.directions)
        if (self.direction_seeds < 1 or self.interp_steps < 2 or self.eval_size < 1 or self.batch_size < 1
                or self.ring_points < 3):
            raise NeuralensError("landscape: need direction_seeds >= 1, ring_points >= 3, interp_steps >= 2, "
                                 "eval_size >= 1")


def landscape_settings(args: Any) -> LandscapeSettings:
    """The settings a ``landscape`` / ``compare-cnn`` command line asks for, checked."""
    settings = LandscapeSettings(steps=args.steps, distance=args.distance, eval_size=args.eval_size, seed=args.seed,
                                 directions=args.directions, direction_seeds=args.direction_seeds,
                                 hessian_steps=args.hessian_steps, hessian_seeds=args.hessian_seeds,
                                 trace_probes=args.trace_probes, device=getattr(args, "device", "auto"))
    settings.check()
    return settings


@dataclass
class HessianSettings:
    """What ``neuralens hessian`` measures: top-k eigenvalues, trace, spectral density and per-layer tops, each
    repeated over probe seeds where the method is random. Fields with help text are the command's options."""

    eval_size: int = option(256, "test images the loss is measured on", type=positive_int)
    seed: int = 0  # first probe seed (the command's --seed)
    probe_seeds: int = option(2, "repeats of the random probes (seeds SEED, SEED+1, ...); their spread is reported",
                              type=positive_int)
    top_k: int = option(3, "largest eigenvalues to report (Lanczos)", type=positive_int)
    lanczos_steps: int = option(20, "Hessian-vector products per Lanczos run (top-k and each density run)",
                                type=positive_int)
    trace_probes: int = option(20, "Hutchinson probes per seed (0: no trace)", type=nonneg_int)
    density_runs: int = option(1, "random start vectors of the spectral density (stochastic Lanczos quadrature)",
                               type=positive_int)
    layer_iters: int = option(10, "power iterations for each layer's top eigenvalue (0: skip)", type=nonneg_int)
    batch_size: int = 128
    device: str = "auto"  # where the model runs (auto: CUDA when present)

    def check(self) -> None:
        if min(self.eval_size, self.probe_seeds, self.top_k, self.lanczos_steps, self.density_runs) < 1:
            raise NeuralensError("hessian: eval size, probe seeds, top-k, Lanczos steps and density runs must be >= 1")
        if self.top_k > self.lanczos_steps:
            raise NeuralensError(f"--top-k {self.top_k} needs at least as many --lanczos-steps "
                                 f"({self.lanczos_steps})")
