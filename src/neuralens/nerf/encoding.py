"""Positional encoding gamma(p) = (p, sin(2^0 w p), cos(2^0 w p), ..., sin(2^{L-1} w p), cos(2^{L-1} w p)).

Two conventions: the NeRF paper uses w = pi (``use_pi=True``); the classic tiny_nerf notebook omits pi
(``use_pi=False``), so its frequencies are pi times lower. With scene coordinates in about [-4, 4] and
L = 6 both work; the paper's version assumes inputs scaled to [-1, 1] (it would alias beyond that).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn


def positional_encoding(x: Tensor, n_freqs: int, include_input: bool = True, use_pi: bool = False) -> Tensor:
    """(…, D) -> (…, D * (include_input + 2 * n_freqs)), ordered [x, sin(f0 x), cos(f0 x), sin(f1 x), ...].

    Example: x = [[0.5]], n_freqs = 1, use_pi = False -> [[0.5, sin(0.5), cos(0.5)]].
    """
    scale = math.pi if use_pi else 1.0
    parts = [x] if include_input else []
    for k in range(n_freqs):
        f = scale * (2.0**k)
        parts += [torch.sin(f * x), torch.cos(f * x)]
    return torch.cat(parts, -1)


class PositionalEncoding(nn.Module):
    """Module form of :func:`positional_encoding` that knows its output width."""

    def __init__(self, in_dim: int, n_freqs: int, include_input: bool = True, use_pi: bool = False) -> None:
        super().__init__()
        self.in_dim, self.n_freqs, self.include_input, self.use_pi = in_dim, n_freqs, include_input, use_pi

    @property
    def out_dim(self) -> int:
        return self.in_dim * (int(self.include_input) + 2 * self.n_freqs)

    def forward(self, x: Tensor) -> Tensor:
        return positional_encoding(x, self.n_freqs, self.include_input, self.use_pi)
