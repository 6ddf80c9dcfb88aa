"""Volume rendering as small pure functions (the nerfacc style).

Samples come either batched, shape (n_rays, n_samples), or packed, shape (n_total,) with ``ray_indices``
(sorted, the ray each sample belongs to), so empty-space skipping can give each ray its own number of samples.

Formula: with optical thickness ``s_i = sigma_i * delta_i``,

    T_i = exp(-sum_{j<i} s_j),   alpha_i = 1 - exp(-s_i),   w_i = T_i * alpha_i,   C = sum_i w_i c_i.

Transmittance is the exponential of an exclusive cumulative sum (not a cumulative product of 1 - alpha), which
is cheaper and keeps a correct gradient where alpha = 1.
"""

from __future__ import annotations

import torch
from torch import Tensor

#: optical thickness beyond which a sample is opaque for every float type (exp(-80) ~ 1.8e-35)
_MAX_THICKNESS = 80.0


def deltas_from_t(t: Tensor, last: float = 1e10) -> Tensor:
    """Distances between consecutive samples, ``last`` for the final one (the original NeRF convention)."""
    return torch.cat([t[..., 1:] - t[..., :-1], torch.full_like(t[..., :1], last)], -1)


def _thickness(sigmas: Tensor, deltas: Tensor) -> Tensor:
    """sigma * delta, 0 where delta == 0 (even for infinite sigma), capped so exp never underflows to NaN.

    Written with ``where`` rather than ``clamp``: clamp's gradient is 0 at its bounds, so a field whose density
    starts at exactly 0 would never receive a gradient there and could not learn to become opaque.
    """
    sd = torch.where(deltas > 0, sigmas * deltas, torch.zeros_like(sigmas))
    sd = torch.where(sd < 0, torch.zeros_like(sd), sd)
    return torch.where(sd > _MAX_THICKNESS, torch.full_like(sd, _MAX_THICKNESS), sd)


def _exclusive_cumsum_packed(x: Tensor, ray_indices: Tensor) -> Tensor:
    """Per-ray exclusive cumulative sum of a packed tensor (``ray_indices`` sorted)."""
    if ray_indices.numel() > 1 and bool((ray_indices[1:] < ray_indices[:-1]).any()):
        raise ValueError("packed samples need sorted ray_indices (all samples of a ray together, in ray order)")
    cs = torch.cumsum(x.double(), 0)
    excl = cs - x.double()
    n = ray_indices.numel()
    if n == 0:
        return x
    first = torch.ones(n, dtype=torch.bool, device=x.device)
    first[1:] = ray_indices[1:] != ray_indices[:-1]
    starts = torch.nonzero(first).squeeze(1)
    seg = torch.cumsum(first.long(), 0) - 1
    return (excl - excl[starts][seg]).to(x.dtype)


def render_transmittance_from_density(sigmas: Tensor, deltas: Tensor, ray_indices: Tensor | None = None) -> Tensor:
    """T_i = exp(-sum_{j<i} sigma_j delta_j), batched (R, S) or packed (N,) with ``ray_indices``."""
    sd = _thickness(sigmas, deltas)
    if ray_indices is None:
        excl = torch.cumsum(sd, -1) - sd
    else:
        excl = _exclusive_cumsum_packed(sd, ray_indices)
    return torch.exp(-excl)


def render_weight_from_density(sigmas: Tensor, deltas: Tensor, ray_indices: Tensor | None = None
                               ) -> tuple[Tensor, Tensor, Tensor]:
    """Rendering weights w_i = T_i (1 - exp(-sigma_i delta_i)).

    Args:
        sigmas: densities, (n_rays, n_samples) or packed (n,).
        deltas: interval lengths, same shape.
        ray_indices: (n,) sorted ray id of each packed sample; ``None`` for batched input.

    Returns:
        weights, transmittance, alphas (each the shape of ``sigmas``).

    Example:
        sigmas = [[0, 1e9, 5]], deltas = [[1, 1, 1]] gives alphas [[0, 1, 0.9933]], transmittance
        [[1, 1, 0]] and weights [[0, 1, 0]]: everything behind an opaque sample is hidden.
    """
    sd = _thickness(sigmas, deltas)
    alphas = -torch.expm1(-sd)
    trans = render_transmittance_from_density(sigmas, deltas, ray_indices)
    return trans * alphas, trans, alphas


def accumulate_along_rays(weights: Tensor, values: Tensor | None = None, ray_indices: Tensor | None = None,
                          n_rays: int | None = None) -> Tensor:
    """sum_i w_i v_i per ray. ``values`` (…, D) or ``None`` (accumulates the weights: opacity).

    Batched: weights (R, S), values (R, S, D) -> (R, D). Packed: weights (N,), values (N, D), ray_indices (N,)
    -> (n_rays, D). With ``values=None`` the result has D = 1.
    """
    src = weights[..., None] if values is None else weights[..., None] * values
    if ray_indices is None:
        return src.sum(-2)
    if n_rays is None:
        raise ValueError("accumulate_along_rays: packed input needs n_rays")
    out = torch.zeros(n_rays, src.shape[-1], dtype=src.dtype, device=src.device)
    return out.index_add_(0, ray_indices, src)


def volume_render(sigmas: Tensor, rgbs: Tensor, t: Tensor, deltas: Tensor | None = None,
                  background: Tensor | float | None = None, ray_indices: Tensor | None = None,
                  n_rays: int | None = None) -> dict[str, Tensor]:
    """Composite samples into pixels: rgb, depth (expected t), opacity and the per-sample weights.

    ``t`` are the sample depths (same shape as ``sigmas``); ``deltas`` default to :func:`deltas_from_t`
    (batched only). ``background`` (colour or scalar) fills the transmittance left after the last sample:
    C = sum_i w_i c_i + (1 - sum_i w_i) * background.
    """
    if deltas is None:
        if ray_indices is not None:
            raise ValueError("volume_render: packed samples need explicit deltas")
        deltas = deltas_from_t(t)
    weights, trans, alphas = render_weight_from_density(sigmas, deltas, ray_indices)
    rgb = accumulate_along_rays(weights, rgbs, ray_indices, n_rays)
    opacity = accumulate_along_rays(weights, None, ray_indices, n_rays)[..., 0]
    depth = accumulate_along_rays(weights, t[..., None], ray_indices, n_rays)[..., 0]
    if background is not None:
        bg = torch.as_tensor(background, dtype=rgb.dtype, device=rgb.device)
        rgb = rgb + (1.0 - opacity)[..., None] * bg
    return {"rgb": rgb, "depth": depth, "opacity": opacity, "weights": weights, "transmittance": trans,
            "alphas": alphas}
