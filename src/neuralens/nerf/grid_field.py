"""A fast radiance field for CPUs: TensoRF-style vector-matrix (VM) factors read with ``grid_sample``.

Density and appearance are sums of products of a 2-D plane and a 1-D line per axis pair (xy.z, xz.y, yz.x):
``f(x) = sum_r P_xy[r](x, y) L_z[r](z) + P_xz[r](x, z) L_y[r](y) + P_yz[r](y, z) L_x[r](x)``. Evaluating a point
costs six bilinear/linear lookups instead of a 256-wide MLP, which is what makes thousands of steps fit into
three CPU minutes. Colour comes from the appearance features and the encoded view direction through a tiny MLP.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from neuralens.nerf.encoding import PositionalEncoding

_PLANES = ((0, 1), (0, 2), (1, 2))  # xy, xz, yz
_LINES = (2, 1, 0)  # the axis left out by each plane
_GRIDS = ("density_planes", "density_lines", "app_planes", "app_lines")


class VMField(nn.Module):
    """VM-factorised density and appearance grids in the box [-bound, bound]^3, with a small colour MLP."""

    def __init__(self, resolution: int = 128, density_rank: int = 16, app_rank: int = 24, app_dim: int = 27,
                 hidden: int = 64, bound: float = 1.5, density_shift: float = -4.0, dir_freqs: int = 2,
                 use_viewdirs: bool = True) -> None:
        super().__init__()
        self.bound, self.density_shift, self.use_viewdirs = bound, density_shift, use_viewdirs
        self.resolution = resolution

        def grid(rank: int, shape: tuple[int, int]) -> nn.Parameter:
            return nn.Parameter(0.1 * torch.randn(3, rank, *shape))

        self.density_planes = grid(density_rank, (resolution, resolution))
        self.density_lines = grid(density_rank, (resolution, 1))
        self.app_planes = grid(app_rank, (resolution, resolution))
        self.app_lines = grid(app_rank, (resolution, 1))
        self.basis = nn.Linear(3 * app_rank, app_dim, bias=False)
        self.dir_enc = PositionalEncoding(3, dir_freqs)
        in_dim = app_dim + (self.dir_enc.out_dim if use_viewdirs else 0)
        self.color = nn.Sequential(nn.Linear(in_dim, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                                   nn.Linear(hidden, 3))

    def grid_parameters(self) -> list[nn.Parameter]:
        """The factor grids (they want a higher learning rate than the MLP)."""
        return [getattr(self, name) for name in _GRIDS]

    @torch.no_grad()
    def upsample(self, resolution: int) -> None:
        """Resample every factor to ``resolution`` cells per axis (TensoRF's coarse-to-fine schedule): the field's
        values stay as they were, only finer detail becomes learnable. The grids are new parameters."""
        for name in _GRIDS:
            old = getattr(self, name)
            size = (resolution, resolution) if old.shape[-1] > 1 else (resolution, 1)
            setattr(self, name, nn.Parameter(F.interpolate(old, size=size, mode="bilinear", align_corners=True)))
        self.resolution = resolution

    def _load_from_state_dict(self, state_dict: dict, prefix: str, *args: object, **kwargs: object) -> None:
        """Take a saved field's grid resolution (a coarse-to-fine run saves whatever it had reached)."""
        saved = state_dict.get(prefix + "density_planes")
        if saved is not None and saved.shape[-1] != self.resolution:
            self.upsample(int(saved.shape[-1]))
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def _features(self, x: Tensor, planes: Tensor, lines: Tensor) -> Tensor:
        """(N, 3) points in [-1, 1] -> (3, R, N) plane*line products."""
        n = x.shape[0]
        plane_xy = torch.stack([x[:, list(p)] for p in _PLANES])  # (3, N, 2)
        line_xy = torch.stack([torch.stack([torch.zeros_like(x[:, a]), x[:, a]], -1) for a in _LINES])
        p = F.grid_sample(planes, plane_xy.view(3, 1, n, 2), mode="bilinear", align_corners=True)
        ln = F.grid_sample(lines, line_xy.view(3, 1, n, 2), mode="bilinear", align_corners=True)
        return (p * ln).view(3, planes.shape[1], n)

    def normalize(self, x: Tensor) -> Tensor:
        return (x / self.bound).clamp(-1, 1)

    def density(self, x: Tensor) -> Tensor:
        """sigma at (..., 3) world points (zero outside the box)."""
        shape = x.shape[:-1]
        flat = x.reshape(-1, 3)
        raw = self._features(self.normalize(flat), self.density_planes, self.density_lines).sum((0, 1))
        sigma = F.softplus(raw + self.density_shift)
        inside = (flat.abs() <= self.bound).all(-1)
        return torch.where(inside, sigma, torch.zeros_like(sigma)).view(shape)

    def radiance(self, x: Tensor, viewdirs: Tensor | None = None) -> Tensor:
        """rgb at (..., 3) world points from the appearance factors alone (no density lookup)."""
        flat = x.reshape(-1, 3)
        app = self._features(self.normalize(flat), self.app_planes, self.app_lines)
        return self._rgb(app, viewdirs).view(*x.shape[:-1], 3)

    def _rgb(self, app: Tensor, viewdirs: Tensor | None) -> Tensor:
        """(3, rank, n) appearance products -> (n, 3) colours."""
        feat = self.basis(app.flatten(0, 1).T)  # (3, rank, n) -> (n, 3 * rank); n may be 0 (all skipped)
        if self.use_viewdirs:
            if viewdirs is None:
                raise ValueError("VMField(use_viewdirs=True) needs viewdirs")
            feat = torch.cat([feat, self.dir_enc(viewdirs.reshape(-1, 3))], -1)
        return torch.sigmoid(self.color(feat))

    def forward(self, x: Tensor, viewdirs: Tensor | None = None) -> tuple[Tensor, Tensor]:
        shape = x.shape[:-1]
        flat = x.reshape(-1, 3)
        # one lookup for density and appearance factors together: half the grid_sample calls
        r = self.density_planes.shape[1]
        both = self._features(self.normalize(flat), torch.cat([self.density_planes, self.app_planes], 1),
                              torch.cat([self.density_lines, self.app_lines], 1))
        sigma = F.softplus(both[:, :r].sum((0, 1)) + self.density_shift)
        sigma = torch.where((flat.abs() <= self.bound).all(-1), sigma, torch.zeros_like(sigma))
        return sigma.view(shape), self._rgb(both[:, r:], viewdirs).view(*shape, 3)

    def tv_loss(self) -> Tensor:
        """Total variation of the density planes: discourages floaters in unseen space."""
        p = self.density_planes
        return (p[..., 1:, :] - p[..., :-1, :]).pow(2).mean() + (p[..., 1:] - p[..., :-1]).pow(2).mean()
