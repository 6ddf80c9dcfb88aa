"""Where along each ray to evaluate the field: uniform, stratified, tiny_nerf's jitter, hierarchical.

All samplers return sorted depths ``t`` of shape (n_rays, n_samples) in [near, far]. Training samplers are
registered by name in :data:`neuralens.nerf.config.SAMPLERS` with one signature,
``fn(near, far, n_samples, n_rays, generator, device)``.
"""

from __future__ import annotations

import torch
from torch import Tensor


def _lin(near: float, far: float, n: int, n_rays: int, device: torch.device | None, dtype: torch.dtype) -> Tensor:
    return torch.linspace(near, far, n, device=device, dtype=dtype).expand(n_rays, n)


def uniform_samples(near: float, far: float, n_samples: int, n_rays: int, device: torch.device | None = None,
                    dtype: torch.dtype = torch.float32) -> Tensor:
    """Evenly spaced depths, ``near`` and ``far`` included (tiny_nerf at test time)."""
    return _lin(near, far, n_samples, n_rays, device, dtype).contiguous()


def uniform_train_samples(near: float, far: float, n_samples: int, n_rays: int,
                          generator: torch.Generator | None = None, device: torch.device | None = None) -> Tensor:
    """:func:`uniform_samples` with a sampler's signature (the generator is unused): fixed depths in training."""
    return uniform_samples(near, far, n_samples, n_rays, device)


def stratified_samples(near: float, far: float, n_samples: int, n_rays: int, generator: torch.Generator | None = None,
                       device: torch.device | None = None, dtype: torch.dtype = torch.float32) -> Tensor:
    """One uniformly random depth inside each of ``n_samples`` equal bins of [near, far] (NeRF, eq. 2)."""
    width = (far - near) / n_samples
    lower = near + width * torch.arange(n_samples, device=device, dtype=dtype)
    u = torch.rand(n_rays, n_samples, generator=generator, dtype=dtype).to(device)
    return lower + width * u


def tiny_nerf_samples(near: float, far: float, n_samples: int, n_rays: int, generator: torch.Generator | None = None,
                      device: torch.device | None = None, dtype: torch.dtype = torch.float32) -> Tensor:
    """The classic tiny_nerf jitter: ``linspace(near, far, N) + U[0, 1) * (far - near) / N``.

    Unlike :func:`stratified_samples` the last sample may land past ``far`` (the notebook's behaviour, kept
    for a faithful baseline).
    """
    u = torch.rand(n_rays, n_samples, generator=generator, dtype=dtype).to(device)
    return _lin(near, far, n_samples, n_rays, device, dtype) + u * (far - near) / n_samples


def importance_samples(bins: Tensor, weights: Tensor, n_samples: int, deterministic: bool = False,
                       generator: torch.Generator | None = None, eps: float = 1e-5) -> Tensor:
    """Hierarchical sampling: draw depths from the piecewise-constant pdf given by ``weights`` over ``bins``.

    Args:
        bins: (n_rays, B + 1) sorted bin edges.
        weights: (n_rays, B) non-negative weights (e.g. coarse rendering weights); normalised here.
        n_samples: samples to draw per ray.
        deterministic: evenly spaced quantiles instead of random ones (evaluation).

    Returns:
        (n_rays, n_samples) sorted depths, denser where the weights are larger (inverse transform sampling).
    """
    weights = weights.detach() + eps
    pdf = weights / weights.sum(-1, keepdim=True)
    cdf = torch.cat([torch.zeros_like(pdf[..., :1]), torch.cumsum(pdf, -1)], -1)
    cdf[..., -1] = 1.0
    n_rays = weights.shape[0]
    if deterministic:
        u = torch.linspace(0.0, 1.0, n_samples, device=bins.device, dtype=bins.dtype).expand(n_rays, n_samples)
    else:
        u = torch.rand(n_rays, n_samples, generator=generator, dtype=bins.dtype).to(bins.device)
    u = u.contiguous()
    idx = torch.searchsorted(cdf, u, right=True)
    below = (idx - 1).clamp(0, cdf.shape[-1] - 1)
    above = idx.clamp(0, cdf.shape[-1] - 1)
    cdf_lo, cdf_hi = cdf.gather(-1, below), cdf.gather(-1, above)
    bin_lo, bin_hi = bins.gather(-1, below), bins.gather(-1, above)
    denom = torch.where(cdf_hi - cdf_lo < eps, torch.ones_like(cdf_hi), cdf_hi - cdf_lo)
    t = (u - cdf_lo) / denom
    return (bin_lo + t * (bin_hi - bin_lo)).sort(-1).values


def midpoints(t: Tensor) -> Tensor:
    """Bin edges for :func:`importance_samples` from sample depths: midpoints, plus the two end samples."""
    mid = 0.5 * (t[..., 1:] + t[..., :-1])
    return torch.cat([t[..., :1], mid, t[..., -1:]], -1)
