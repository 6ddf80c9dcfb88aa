"""Where a stack of deformable layers samples: trace one output pixel's taps back through every layer."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from neuralens.ops import DeformableConv2d


def receptive_points(layers: list[DeformableConv2d], y: float, x: float) -> list[Tensor]:
    """Sampling points of output pixel (y, x) of the last layer traced back through the stack.

    Entry k holds the 9**(k+1) points (…, 2) in the input grid of the last k+1 layers (all at one resolution,
    stride 1): each point's own offsets are read from the layer below by bilinear interpolation of its
    sampling-location field. Needs a forward pass first (``last_offset``).
    """
    pts = torch.tensor([[y, x]], dtype=torch.float32)
    traced = []
    for layer in reversed(layers):
        loc = layer.sampling_locations()[0, 0]  # (K, H, W, 2) for image 0, offset group 0
        k, h, w, _ = loc.shape
        field = loc.permute(0, 3, 1, 2).reshape(1, k * 2, h, w)  # sampling field as an image
        gx = pts[:, 1] / max(w - 1, 1) * 2 - 1
        gy = pts[:, 0] / max(h - 1, 1) * 2 - 1
        grid = torch.stack([gx, gy], -1).view(1, 1, -1, 2)
        sampled = F.grid_sample(field, grid, mode="bilinear", padding_mode="border", align_corners=True)
        pts = sampled.view(k, 2, -1).permute(2, 0, 1).reshape(-1, 2)  # (points * K, 2)
        traced.append(pts)
    return traced


def regular_points(n_layers: int, y: float, x: float, dilation: int = 1) -> Tensor:
    """Where a plain stack of 3x3 convs samples: every sum of n tap offsets (with repeats, as a set)."""
    offs = torch.tensor([(i, j) for i in (-1, 0, 1) for j in (-1, 0, 1)], dtype=torch.float32) * dilation
    pts = torch.tensor([[y, x]], dtype=torch.float32)
    for _ in range(n_layers):
        pts = (pts[:, None, :] + offs[None]).reshape(-1, 2)
    return pts


def offset_magnitude(layer: DeformableConv2d) -> Tensor:
    """Mean |offset| (pixels) over taps at every output location of image 0: (H, W)."""
    off = layer.last_offset[0]
    k = off.shape[0] // 2
    return off.view(k, 2, *off.shape[-2:]).norm(dim=1).mean(0)
