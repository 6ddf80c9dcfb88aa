"""Curvature measures that can tell two landscapes apart, each a plain function returning numbers.

- :func:`nonconvexity_map`: Li et al. 2018 (section 6): at each point of a coarse grid on the filter-normalised
  plane, |lambda_min / lambda_max| of the loss Hessian (conv/linear weights). Near 0 the loss curves up in every
  direction there (locally convex); near 1 it curves down about as much as up. Both ends of the spectrum come from
  one Lanczos run per point (its extreme Ritz values converge first).
- :func:`roughness`: how far the 2-D loss surface is from the best-fitting paraboloid: the RMS residual of a
  least-squares quadratic fit over the grid, divided by the surface's range. A convex bowl scores near 0, a
  chaotic surface (Li et al.'s deep plain nets) higher; free of the loss's scale.
- the top Hessian eigenvalue over probe seeds: :func:`neuralens.cnn.landscape.hessian_summary`.
"""

from __future__ import annotations

import copy

import numpy as np
import torch
from torch import Tensor, nn

from neuralens.cnn.hessian import HessianOperator, _tridiagonal, lanczos


def extreme_eigenvalues(op: HessianOperator, steps: int, seed: int) -> tuple[float, float]:
    """(lambda_min, lambda_max) of the Hessian: the extreme Ritz values of one ``steps``-step Lanczos run."""
    alphas, betas = lanczos(op.matvec, op.dim, steps, torch.Generator().manual_seed(seed), desc="Hessian extremes")
    values = np.linalg.eigvalsh(_tridiagonal(alphas, betas))
    return float(values[0]), float(values[-1])


def moved(model: nn.Module, d1: list[Tensor], d2: list[Tensor], a: float, b: float) -> nn.Module:
    """A copy of ``model`` at ``(a, b)`` on the plane of ``d1``, ``d2`` (one tensor per parameter)."""
    out = copy.deepcopy(model)
    with torch.no_grad():
        for p, u, v in zip(out.parameters(), d1, d2):
            p.add_(a * u + b * v)
    return out


def nonconvexity_map(model: nn.Module, x: Tensor, y: Tensor, d1: list[Tensor], d2: list[Tensor],
                     coords: np.ndarray, steps: int = 10, seed: int = 0) -> np.ndarray:
    """|lambda_min / lambda_max| at every point of ``coords`` x ``coords`` on the plane (rows: ``d1``)."""
    out = np.zeros((len(coords), len(coords)))
    for i, a in enumerate(coords):
        for j, b in enumerate(coords):
            lo, hi = extreme_eigenvalues(HessianOperator(moved(model, d1, d2, float(a), float(b)), x, y), steps, seed)
            out[i, j] = abs(lo / hi) if hi != 0 else np.inf
    return out


def roughness(alphas: np.ndarray, betas: np.ndarray, loss: np.ndarray) -> float:
    """RMS residual of the least-squares paraboloid through the grid's loss, over the loss's range (0: a
    quadratic bowl or saddle; see the module docstring)."""
    a, b = np.meshgrid(alphas, betas, indexing="ij")
    ok = np.isfinite(loss)
    design = np.stack([np.ones_like(a), a, b, a * a, a * b, b * b], axis=-1)[ok]
    coef, *_ = np.linalg.lstsq(design, loss[ok], rcond=None)
    span = float(loss[ok].max() - loss[ok].min())
    return float(np.sqrt(np.mean((design @ coef - loss[ok]) ** 2)) / span) if span > 0 else 0.0
