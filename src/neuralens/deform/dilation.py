"""How far a deformable layer spreads its taps: Dai et al. 2017's mean effective dilation (their Table 2).

The effective dilation at an output pixel is the mean distance between the sampling locations of adjacent taps
(horizontal and vertical neighbours of the kernel): 1 for a plain 3x3 conv, d for a conv dilated by d, larger
where learned offsets pull the taps apart. Dai et al. report it per object size (small, medium, large,
background) and find it growing with the object; :func:`rank_correlation` measures that relation per image
set, with an interval from resampling the images.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor


def adjacent_pairs(kh: int, kw: int) -> list[tuple[int, int]]:
    """Row-major tap indices of horizontally and vertically adjacent taps of a kh x kw kernel."""
    pairs = [(r * kw + c, r * kw + c + 1) for r in range(kh) for c in range(kw - 1)]
    return pairs + [(r * kw + c, (r + 1) * kw + c) for r in range(kh - 1) for c in range(kw)]


def effective_dilation(locations: Tensor, kernel: tuple[int, int] = (3, 3)) -> Tensor:
    """(N, G, kh*kw, H, W, 2) sampling locations (``DeformableConv2d.sampling_locations``) -> (N, H, W): the mean
    distance between adjacent taps, averaged over the offset groups."""
    i, j = zip(*adjacent_pairs(*kernel))
    gaps = (locations[:, :, list(i)] - locations[:, :, list(j)]).norm(dim=-1)  # (N, G, pairs, H, W)
    return gaps.mean(dim=(1, 2))


def _ranks(v: np.ndarray) -> np.ndarray:
    """Average ranks (ties share the mean of their positions)."""
    order = np.argsort(v, kind="mergesort")
    ranks = np.empty(len(v))
    ranks[order] = np.arange(len(v), dtype=float)
    for value in np.unique(v):
        tie = v == value
        ranks[tie] = ranks[tie].mean()
    return ranks


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's rank correlation; 0 when either side is constant (no order to correlate)."""
    ra, rb = _ranks(np.asarray(a, float)), _ranks(np.asarray(b, float))
    ra, rb = ra - ra.mean(), rb - rb.mean()
    denom = float(np.sqrt((ra * ra).sum() * (rb * rb).sum()))
    return float((ra * rb).sum() / denom) if denom > 0 else 0.0


def rank_correlation(scale: np.ndarray, dilation: np.ndarray, resamples: int = 1000, seed: int = 0
                     ) -> dict[str, float | list[float]]:
    """Spearman correlation of object scale and effective dilation over images, and its 95% interval from
    resampling the images with replacement (percentile bootstrap)."""
    scale, dilation = np.asarray(scale, float), np.asarray(dilation, float)
    rng = np.random.default_rng(seed)
    boot = [spearman(scale[k], dilation[k]) for k in rng.integers(0, len(scale), (resamples, len(scale)))]
    return {"rho": spearman(scale, dilation), "ci95": [float(np.percentile(boot, 2.5)),
                                                        float(np.percentile(boot, 97.5))], "n": len(scale)}


def object_mean(dilation: Tensor, masks: Tensor) -> Tensor:
    """(N,) mean effective dilation over each image's object pixels (``masks`` (N, H, W) bool at the layer's
    resolution; an image without object pixels gets NaN)."""
    m = masks.to(dilation.dtype)
    return (dilation * m).sum((1, 2)) / m.sum((1, 2)).where(m.sum((1, 2)) > 0, torch.tensor(float("nan")))
