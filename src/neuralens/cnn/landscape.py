"""Loss landscapes with ``loss-landscapes`` as the engine, and the fixes it needs.

What we take from the package: its model wrapper and parameter-vector arithmetic (``wrap_model``,
``ModelParameters``), its ``Metric`` interface, and ``linear_interpolation`` for 1-D paths. What we do in our
code, because version 3.0.6 gets it wrong for this study:

* directions are drawn here by a registered method (``settings.DIRECTIONS``; ``filter``: Li et al. 2018 filter
  normalisation, each output filter of a conv/linear weight gets the norm of the matching weight filter;
  ``layer``: per-tensor normalisation); BN parameters and biases are not perturbed (the package's
  ``filter_normalize_`` normalises them too and divides by zero on all-zero 1-D parameters);
* the 2-D grid is walked here so that alpha = beta = 0 is a grid point and equals the model itself (the
  package's ``random_plane``/``planar_interpolation`` shift every other column by one step);
* the evaluation subset is held in memory once, as one float tensor, so each grid point costs one forward
  pass over it and nothing else.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from loss_landscapes.metrics.metric import Metric
from loss_landscapes.model_interface.model_parameters import ModelParameters
from loss_landscapes.model_interface.model_wrapper import ModelWrapper, wrap_model
from torch import Tensor, nn

from neuralens.cnn.hessian import HessianOperator, hutchinson_trace, perturbed, top_eigenvalues
from neuralens.cnn.settings import DIRECTIONS
from neuralens.core.distributed import in_distributed_run, world
from neuralens.core.errors import NeuralensError
from neuralens.core.io import read_json, read_npz
from neuralens.core.progress import Progress


class LossAccuracy(Metric):
    """Mean cross-entropy and accuracy of the wrapped model on an in-memory batch set (eval mode, no grad)."""

    def __init__(self, x: Tensor, y: Tensor, batch_size: int = 128) -> None:
        super().__init__()
        # channels_last and batches of 128 were the fastest plain forward on the 2-core CPU (BENCHMARKS.md)
        self.x = x.contiguous(memory_format=torch.channels_last) if x.ndim == 4 else x
        self.y, self.batch_size = y, batch_size

    @torch.no_grad()
    def __call__(self, model_wrapper: ModelWrapper) -> tuple[float, float]:
        loss_sum, correct = 0.0, 0
        for i in range(0, len(self.x), self.batch_size):
            logits = model_wrapper.forward(self.x[i:i + self.batch_size])
            yb = self.y[i:i + self.batch_size]
            loss_sum += float(nn.functional.cross_entropy(logits, yb, reduction="sum"))
            correct += int((logits.argmax(1) == yb).sum())
        return loss_sum / len(self.y), correct / len(self.y)


def _random_direction(model: nn.Module, generator: torch.Generator, scale: Callable[[Tensor, Tensor], Tensor]
                      ) -> list[Tensor]:
    """One Gaussian tensor per parameter (``parameters()`` order) rescaled by ``scale(d, w)``; zero for the
    parameters the landscape does not perturb (biases, BN)."""
    out = []
    for name, p in model.named_parameters():
        if not perturbed(name, p):
            out.append(torch.zeros_like(p))
            continue
        d = torch.randn(p.shape, generator=generator, dtype=p.dtype).to(p.device)
        out.append(d * scale(d, p.detach()))
    return out


def filter_normalized_direction(model: nn.Module, generator: torch.Generator) -> list[Tensor]:
    """A random direction, filter-normalised (Li et al. 2018): for every weight with ndim > 1, each slice d[i]
    along dim 0 (an output filter) is rescaled to the norm of w[i]; 1-D parameters get a zero direction."""
    return _random_direction(model, generator, lambda d, w: (w.flatten(1).norm(dim=1) / d.flatten(1).norm(dim=1)
                                                             .clamp_min(1e-12)).view(-1, *([1] * (w.ndim - 1))))


def layer_normalized_direction(model: nn.Module, generator: torch.Generator) -> list[Tensor]:
    """A random direction scaled per weight tensor (not per filter) to that tensor's norm; 1-D parameters get a
    zero direction. Coarser than filter normalisation: a layer with a few large filters moves them all alike."""
    return _random_direction(model, generator, lambda d, w: w.norm() / d.norm().clamp_min(1e-12))


def direction_pair(model: nn.Module, method: str, seed: int) -> tuple[list[Tensor], list[Tensor]]:
    """Two directions of the registered ``method``, drawn from one generator seeded with ``seed``."""
    make = DIRECTIONS.get(method)
    g = torch.Generator().manual_seed(seed)
    return make(model, g), make(model, g)


def _as_parameters(tensors: list[Tensor]) -> ModelParameters:
    return ModelParameters([t.clone() for t in tensors])


def grid_points(steps: int, distance: float) -> np.ndarray:
    """``steps`` evenly spaced coordinates in [-distance, distance]; odd ``steps`` puts 0 on the grid."""
    return np.linspace(-distance, distance, steps)


def evaluate_points(model: nn.Module, metric: LossAccuracy, d1: list[Tensor], d2: list[Tensor],
                    coords: list[tuple[float, float]], desc: str = "landscape", progress: bool = True,
                    buffer_dirs: dict[str, tuple[Tensor, Tensor]] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Loss and accuracy at theta + a*d1 + b*d2 for each (a, b) of ``coords``; the model is not changed.

    ``buffer_dirs`` (name -> two tensors) moves those buffers too, buffer + a*B1 + b*B2 (BN statistics that follow
    the weights on a trajectory plane); running variances move as log(var) + a*B1 + b*B2, so they stay positive.
    """
    net = copy.deepcopy(model).eval().to(memory_format=torch.channels_last)
    wrapper = wrap_model(net)
    buffers = dict(net.named_buffers())
    buffer_start = {k: buffers[k].detach().clone() for k in buffer_dirs or {}}
    buffer_dirs = {k: (b1.to(buffers[k].device, buffers[k].dtype), b2.to(buffers[k].device, buffers[k].dtype))
                   for k, (b1, b2) in (buffer_dirs or {}).items()}
    theta = wrapper.get_module_parameters()
    start = _as_parameters([p.detach() for p in theta.parameters])
    dir1, dir2 = _as_parameters(d1), _as_parameters(d2)
    loss = np.full(len(coords), np.nan)
    acc = np.full(len(coords), np.nan)
    points = Progress(len(coords), desc, "pt") if progress else None
    for k, (a, b) in enumerate(coords):
        # theta <- start + a*d1 + b*d2, written in place through the package's parameter vector
        for t, s, u, v in zip(theta.parameters, start.parameters, dir1.parameters, dir2.parameters):
            t.copy_(s).add_(u, alpha=float(a)).add_(v, alpha=float(b))
        with torch.no_grad():
            for name, (b1, b2) in (buffer_dirs or {}).items():
                if name.endswith("running_var"):  # variances move in log space: positive wherever the plane goes
                    buffers[name].copy_(buffer_start[name].clamp_min(1e-12).log().add(float(a) * b1 + float(b) * b2)
                                        .exp())
                else:
                    buffers[name].copy_(buffer_start[name] + float(a) * b1 + float(b) * b2)
        loss[k], acc[k] = metric(wrapper)
        if points is not None:
            points.update()
    if points is not None:
        points.close()
    return loss, acc


def evaluate_plane(model: nn.Module, metric: LossAccuracy, d1: list[Tensor], d2: list[Tensor], steps: int,
                   distance: float | tuple[float, float], points: list[int] | None = None, progress: bool = True,
                   buffer_dirs: dict[str, tuple[Tensor, Tensor]] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Loss and accuracy at theta + a*d1 + b*d2 for a, b on the grid (row index = a, column = b); ``distance`` is
    the half-width of both axes, or of (alpha, beta) separately.

    ``points`` restricts the work to these flat indices (the rest stay NaN): how ranks share a grid.
    """
    da, db = distance if isinstance(distance, tuple) else (distance, distance)
    ca, cb = grid_points(steps, da), grid_points(steps, db)
    todo = list(range(steps * steps)) if points is None else list(points)
    flat_loss, flat_acc = evaluate_points(model, metric, d1, d2, [(ca[k // steps], cb[k % steps])
                                                                  for k in todo], "landscape grid", progress,
                                          buffer_dirs)
    loss = np.full((steps, steps), np.nan)
    acc = np.full((steps, steps), np.nan)
    for k, v, w in zip(todo, flat_loss, flat_acc):
        loss[k // steps, k % steps], acc[k // steps, k % steps] = v, w
    return loss, acc


def circle(radius: float, n: int = 8) -> list[tuple[float, float]]:
    """``n`` points evenly spaced on the circle of ``radius`` in the (alpha, beta) plane, the first on the alpha
    axis."""
    return [(radius * math.cos(2 * math.pi * k / n), radius * math.sin(2 * math.pi * k / n)) for k in range(n)]


#: radii of the sharpness measure (filter-normalised units: 1 is a step as large as the weights themselves)
RADII = (0.5, 1.0)


def ring_sharpness(model: nn.Module, metric: LossAccuracy, directions: str, seeds: list[int], centre: float,
                   n_points: int = 8, progress: bool = True) -> list[dict[str, float]]:
    """Per direction seed: the mean rise of the loss over ``n_points`` on circles of :data:`RADII` in that
    seed's plane. Repeating it over seeds measures how much the number depends on the random plane drawn."""
    out = []
    for s in seeds:
        d1, d2 = direction_pair(model, directions, s)
        coords = [c for r in RADII for c in circle(r, n_points)]
        loss, _ = evaluate_points(model, metric, d1, d2, coords, f"sharpness rings, direction seed {s}", progress)
        row: dict[str, float] = {"seed": s}
        for i, r in enumerate(RADII):
            row[f"mean_rise_r{r:g}"] = float(np.mean(loss[i * n_points:(i + 1) * n_points]) - centre)
        out.append(row)
    return out


def spread(values: list[float]) -> dict[str, float]:
    """mean, standard deviation, min, max and count of a list of measurements (over seeds)."""
    arr = np.asarray(values, dtype=float)
    return {"mean": float(arr.mean()), "std": float(arr.std(ddof=1)) if len(arr) > 1 else 0.0,
            "min": float(arr.min()), "max": float(arr.max()), "n": len(arr)}


def interpolate(model_a: nn.Module, model_b: nn.Module, metric: LossAccuracy, steps: int = 21) -> np.ndarray:
    """Loss/accuracy along theta_a + t (theta_b - theta_a), t in [0, 1] (``steps`` points): (steps, 2).

    Parameters *and* floating-point buffers (BN running statistics) move together. The package's
    ``linear_interpolation`` moves parameters only, so its end point keeps model_a's BN statistics and is
    not model_b (a trained ResNet18 at 0.60 loss came out at 2.46 there).
    """
    walker = copy.deepcopy(model_a).eval().to(memory_format=torch.channels_last)
    sa = {k: v.detach().clone() for k, v in model_a.state_dict().items()}
    sb = {k: v.detach().clone() for k, v in model_b.state_dict().items()}
    if sa.keys() != sb.keys():
        raise ValueError("interpolate: the two models have different state_dict keys")
    target = walker.state_dict()
    wrapper = wrap_model(walker)
    out = []
    with torch.no_grad():
        for t in np.linspace(0.0, 1.0, steps):
            for k, v in target.items():
                if v.is_floating_point():
                    v.copy_(sa[k] * (1 - t) + sb[k] * t)
                else:
                    v.copy_(sb[k] if t > 0.5 else sa[k])
            out.append(metric(wrapper))
    return np.array(out)


def sharpness(alphas: np.ndarray, betas: np.ndarray, loss: np.ndarray,
              radii: tuple[float, ...] = (0.25, 0.5, 1.0)) -> dict[str, float]:
    """Loss at the centre and the mean rise of the loss at each radius (grid points within half a step)."""
    a, b = np.meshgrid(alphas, betas, indexing="ij")
    r = np.sqrt(a * a + b * b)
    c = len(alphas) // 2
    centre = float(loss[c, c])
    half = (alphas[1] - alphas[0]) / 2 if len(alphas) > 1 else 0.0
    out = {"loss_centre": centre}
    for rad in radii:
        ring = np.abs(r - rad) <= half + 1e-9
        out[f"mean_rise_r{rad:g}"] = float(np.nanmean(loss[ring]) - centre) if ring.any() else float("nan")
    return out


def distributed_plane(model: nn.Module, metric: LossAccuracy, d1: list[Tensor], d2: list[Tensor], steps: int,
                      distance: float | tuple[float, float], buffer_dirs: dict[str, tuple[Tensor, Tensor]] | None = None
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Split the grid across torch.distributed ranks (gloo works on CPU); every rank gets the full grid."""
    import torch.distributed as dist  # lazy: only torchrun runs need the distributed package

    rank, world = dist.get_rank(), dist.get_world_size()
    mine = [k for k in range(steps * steps) if k % world == rank]
    loss, acc = evaluate_plane(model, metric, d1, d2, steps, distance, points=mine, progress=rank == 0,
                               buffer_dirs=buffer_dirs)
    both = torch.from_numpy(np.stack([loss, acc])).double()
    filled = torch.from_numpy(~np.isnan(np.stack([loss, acc]))).double()
    both = torch.nan_to_num(both)
    dist.all_reduce(both)
    dist.all_reduce(filled)
    if not torch.all(filled == 1):
        raise RuntimeError("distributed landscape: some grid points were computed by no rank or by two")
    return both[0].numpy(), both[1].numpy()


def any_plane(model: nn.Module, metric: LossAccuracy, d1: list[Tensor], d2: list[Tensor], steps: int,
              distance: float | tuple[float, float], progress: bool = True,
              buffer_dirs: dict[str, tuple[Tensor, Tensor]] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The grid in this process, or shared by the ranks of a torchrun (identical results either way)."""
    if not in_distributed_run():
        return evaluate_plane(model, metric, d1, d2, steps, distance, progress=progress, buffer_dirs=buffer_dirs)
    world()
    return distributed_plane(model, metric, d1, d2, steps, distance, buffer_dirs)


def compute_landscape(model: nn.Module, x: Tensor, y: Tensor, steps: int = 21, distance: float = 1.0,
                      seed: int = 0, batch_size: int = 128, hessian_steps: int = 0, progress: bool = True,
                      directions: str = "filter", direction_seeds: int = 1, ring_points: int = 8,
                      hessian_seeds: int = 1, trace_probes: int = 0) -> dict[str, Any]:
    """The 2-D plane of two random ``directions`` (seed ``seed``) around ``model``, and its sharpness.

    ``sharpness`` holds the centre loss, the mean loss rise on circles of radius 0.5 and 1 averaged over
    ``direction_seeds`` planes (seeds ``seed``, ``seed + 1``, ...; each seed's value and their spread too), the
    rise read off the grid (``grid``), and (``hessian_steps`` > 0) the top Hessian eigenvalue by Lanczos and
    (``trace_probes`` > 0) Hutchinson's trace, each over ``hessian_seeds`` probe seeds with its spread. ``seconds``
    says where the time went.
    """
    times: dict[str, float] = {}
    t0 = time.perf_counter()
    d1, d2 = direction_pair(model, directions, seed)
    metric = LossAccuracy(x, y, batch_size)
    loss, acc = any_plane(model, metric, d1, d2, steps, distance, progress)
    times["grid"] = time.perf_counter() - t0
    alphas = grid_points(steps, distance)
    result: dict[str, Any] = {"alphas": alphas, "betas": alphas.copy(), "loss": loss, "accuracy": acc}
    centre = float(loss[steps // 2, steps // 2])
    t0 = time.perf_counter()
    rings = ring_sharpness(model, metric, directions, list(range(seed, seed + direction_seeds)), centre,
                           ring_points, progress)
    times["sharpness_rings"] = time.perf_counter() - t0
    sharp: dict[str, Any] = {"loss_centre": centre, "directions": directions, "direction_seeds": direction_seeds,
                             "ring_points": ring_points}
    for r in RADII:
        key = f"mean_rise_r{r:g}"
        sharp[key] = float(np.mean([row[key] for row in rings]))
        sharp[f"{key}_spread"] = spread([row[key] for row in rings])
    sharp["per_direction_seed"] = rings
    sharp["grid"] = sharpness(alphas, alphas, loss)
    if hessian_steps > 0:
        t0 = time.perf_counter()
        sharp.update(hessian_summary(model, x, y, hessian_steps, hessian_seeds, trace_probes, seed))
        times["hessian"] = time.perf_counter() - t0
    result["sharpness"] = sharp
    result["seconds"] = times
    return result


def hessian_summary(model: nn.Module, x: Tensor, y: Tensor, steps: int, seeds: int, trace_probes: int = 0,
                    seed: int = 0) -> dict[str, Any]:
    """Top Hessian eigenvalue (Lanczos, ``steps`` products) and trace (Hutchinson) over probe seeds, with spreads."""
    op = HessianOperator(model, x, y)
    tops = [top_eigenvalues(op, 1, steps, seed + k)[0] for k in range(seeds)]
    out: dict[str, Any] = {"top_hessian_eigenvalue": float(np.mean(tops)),
                           "top_hessian_eigenvalue_spread": spread(tops), "hessian_steps": steps}
    if trace_probes > 0:
        traces = [hutchinson_trace(op, trace_probes, seed + k)["trace"] for k in range(seeds)]
        out.update({"hessian_trace": float(np.mean(traces)), "hessian_trace_spread": spread(traces)})
    return out


def load_landscape(folder: Path) -> dict[str, Any]:
    """A landscape run folder's arrays (``landscape.npz``) and metadata (``landscape.json``)."""
    path = folder / "landscape.npz"
    if not path.is_file():
        raise NeuralensError(f"{folder}: no landscape.npz (run neuralens landscape --out {folder})")
    res: dict[str, Any] = read_npz(path)
    missing = [k for k in ("alphas", "betas", "loss", "accuracy") if k not in res]
    if missing:
        raise NeuralensError(f"{path}: missing array(s) {', '.join(missing)}; not a landscape.npz")
    shape = (len(res["alphas"]), len(res["betas"]))
    for key in ("loss", "accuracy"):
        if res[key].shape != shape:
            raise NeuralensError(f"{path}: {key} has shape {res[key].shape}, expected {shape} (alphas x betas)")
    res["meta"] = read_json(folder / "landscape.json") if (folder / "landscape.json").is_file() else {}
    return res
