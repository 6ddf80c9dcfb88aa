"""The classic tiny_nerf MLP field (optionally with NeRF's view-direction branch)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from neuralens.nerf.encoding import PositionalEncoding

#: how raw network outputs become densities: the notebook's ReLU (zero gradient once all outputs of a region
#: turn negative: the field can die and render black), or mip-NeRF's shifted softplus, which never stops learning
#: (nerfstudio's shifted truncated exp did worse on lego at 500 steps: BENCHMARKS.md)
DENSITY_ACTIVATIONS = {
    "relu": torch.relu,
    "softplus": lambda raw: nn.functional.softplus(raw - 1.0),
}

#: how raw network outputs become colours: the notebook's sigmoid (a black target sits at raw = -inf, so a field
#: fitting a black background drives raw down until the sigmoid saturates and its gradient vanishes: the field
#: renders black for good), or mip-NeRF's widened sigmoid, which reaches 0 and 1 at a finite raw (-6.9 and 6.9),
#: here with a slope that never falls below COLOUR_MIN_SLOPE: a raw pushed far past -6.9 renders slightly below 0
#: and the loss can pull it back
COLOUR_MIN_SLOPE = 0.01


def wide_sigmoid(raw: Tensor) -> Tensor:
    """mip-NeRF's widened sigmoid (range [-0.001, 1.001]) whose gradient never vanishes (slope >= 0.01 added)."""
    return torch.sigmoid(raw) * (1 + 2e-3) - 1e-3 + COLOUR_MIN_SLOPE * (raw - raw.detach())


COLOUR_ACTIVATIONS = {"sigmoid": torch.sigmoid, "wide_sigmoid": wide_sigmoid}


class TinyNeRF(nn.Module):
    """The classic tiny_nerf MLP: gamma(x) with L=6 (no pi), 8 ReLU layers of 256, input re-injected after
    the fifth layer, a linear head to (r, g, b, sigma); rgb = sigmoid, sigma = relu (or ``density="softplus"``).
    No view directions unless ``use_viewdirs`` (then a 128-wide colour branch takes gamma(d) with 4 frequencies,
    as in the NeRF paper). A ReLU density whose raw value turns negative for every input has no gradient and
    renders black for good (the baseline does with seed 1 on lego); the softplus density cannot.
    """

    def __init__(self, depth: int = 8, width: int = 256, n_freqs: int = 6, skip: int = 4, use_pi: bool = False,
                 use_viewdirs: bool = False, dir_freqs: int = 4, density: str = "relu",
                 colour: str = "sigmoid") -> None:
        super().__init__()
        for what, name, table in (("density", density, DENSITY_ACTIVATIONS), ("colour", colour, COLOUR_ACTIVATIONS)):
            if name not in table:
                raise ValueError(f"{what} activation {name!r}: use {', '.join(table)}")
        self.density_activation, self.colour_activation = DENSITY_ACTIVATIONS[density], COLOUR_ACTIVATIONS[colour]
        self.enc = PositionalEncoding(3, n_freqs, use_pi=use_pi)
        self.skip, self.use_viewdirs = skip, use_viewdirs
        layers, in_dim = [], self.enc.out_dim
        for i in range(depth):
            layers.append(nn.Linear(in_dim, width))
            in_dim = width + (self.enc.out_dim if (i % skip == 0 and i > 0) else 0)
        self.layers = nn.ModuleList(layers)
        if use_viewdirs:
            self.dir_enc = PositionalEncoding(3, dir_freqs, use_pi=use_pi)
            self.sigma_head = nn.Linear(in_dim, 1)
            self.feature = nn.Linear(in_dim, width)
            self.color = nn.Sequential(nn.Linear(width + self.dir_enc.out_dim, width // 2), nn.ReLU(),
                                       nn.Linear(width // 2, 3))
        else:
            self.head = nn.Linear(in_dim, 4)

    def forward(self, x: Tensor, viewdirs: Tensor | None = None) -> tuple[Tensor, Tensor]:
        e = self.enc(x)
        h = e
        for i, layer in enumerate(self.layers):
            h = torch.relu(layer(h))
            if i % self.skip == 0 and i > 0:
                h = torch.cat([h, e], -1)
        if not self.use_viewdirs:
            raw = self.head(h)
            return self.density_activation(raw[..., 3]), self.colour_activation(raw[..., :3])
        if viewdirs is None:
            raise ValueError("TinyNeRF(use_viewdirs=True) needs viewdirs")
        sigma = self.density_activation(self.sigma_head(h)[..., 0])
        rgb = self.colour_activation(self.color(torch.cat([self.feature(h), self.dir_enc(viewdirs)], -1)))
        return sigma, rgb

