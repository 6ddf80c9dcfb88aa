"""Empty-space skipping: a coarse occupancy grid decides which samples along a ray are worth evaluating.

Rays are marched with a fixed step inside the scene box; samples in cells the grid marks empty are dropped
before the field is called, and the survivors are rendered packed (``ray_indices``), so each ray costs only
what its occupied stretch costs. The grid keeps an exponential-max estimate of density per cell, refreshed
every few steps from the field itself.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn


class OccupancyGrid(nn.Module):
    """A ``resolution``^3 grid over [-bound, bound]^3 holding a running density estimate per cell."""

    def __init__(self, bound: float = 1.5, resolution: int = 64, threshold: float = 0.01, decay: float = 0.95) -> None:
        super().__init__()
        self.bound, self.resolution, self.threshold, self.decay = bound, resolution, threshold, decay
        self.register_buffer("density", torch.full((resolution,) * 3, float("inf")))  # all occupied until updated
        self.register_buffer("occupied", torch.ones((resolution,) * 3, dtype=torch.bool))

    def cell_index(self, points: Tensor) -> tuple[Tensor, Tensor]:
        """Flat cell index of (..., 3) points and whether they lie inside the box."""
        u = (points + self.bound) / (2 * self.bound) * self.resolution
        inside = ((u >= 0) & (u < self.resolution)).all(-1)
        ijk = u.long().clamp(0, self.resolution - 1)
        flat = (ijk[..., 0] * self.resolution + ijk[..., 1]) * self.resolution + ijk[..., 2]
        return flat, inside

    def query(self, points: Tensor) -> Tensor:
        flat, inside = self.cell_index(points)
        return self.occupied.view(-1)[flat] & inside

    @torch.no_grad()
    def update(self, density_fn: Callable[[Tensor], Tensor], step: float, generator: torch.Generator | None = None,
               chunk: int = 65536) -> float:
        """Re-estimate every cell from ``density_fn`` at a jittered point inside it; return the occupied share.

        A cell stays occupied while its decayed maximum density gives an opacity above ``threshold`` over one
        marching ``step``.
        """
        r = self.resolution
        device = self.density.device
        idx = torch.stack(torch.meshgrid(*[torch.arange(r, device=device)] * 3, indexing="ij"), -1).view(-1, 3)
        jitter = torch.rand(idx.shape, generator=generator).to(device)
        pts = (idx + jitter) / r * (2 * self.bound) - self.bound
        new = torch.cat([density_fn(pts[i:i + chunk]) for i in range(0, len(pts), chunk)]).view(r, r, r)
        old = torch.where(torch.isinf(self.density), torch.zeros_like(self.density), self.density)
        self.density.copy_(torch.maximum(old * self.decay, new))
        alpha = 1 - torch.exp(-self.density * step)
        # one jittered probe per cell can miss a surface that only clips the cell: keep the neighbours of
        # every occupied cell too (a 3x3x3 dilation), so skipping stays conservative at silhouettes
        occ = (alpha > self.threshold).float()[None, None]
        self.occupied.copy_(torch.nn.functional.max_pool3d(occ, 3, stride=1, padding=1)[0, 0] > 0)
        return float(self.occupied.float().mean())


def ray_box(origins: Tensor, dirs: Tensor, bound: float) -> tuple[Tensor, Tensor]:
    """Entry and exit parameters of rays o + t d with the box [-bound, bound]^3 (t_far < t_near: a miss)."""
    inv = 1.0 / torch.where(dirs.abs() < 1e-9, torch.full_like(dirs, 1e-9), dirs)
    t0, t1 = (-bound - origins) * inv, (bound - origins) * inv
    return torch.minimum(t0, t1).amax(-1), torch.maximum(t0, t1).amin(-1)


def march(origins: Tensor, dirs: Tensor, near: float, far: float, n_steps: int, grid: OccupancyGrid,
          generator: torch.Generator | None = None, jitter: bool = True) -> tuple[Tensor, Tensor, Tensor]:
    """Fixed-step samples in [near, far] inside the box, kept only where the grid is occupied.

    Returns packed ``t`` (sample depths), ``ray_indices`` (sorted) and the constant step length ``delta``
    as a tensor, all of shape (n_kept,).
    """
    n = origins.shape[0]
    step = (far - near) / n_steps
    t_in, t_out = ray_box(origins, dirs, grid.bound)
    t_in, t_out = t_in.clamp(min=near), t_out.clamp(max=far)
    u = torch.rand(n, 1, generator=generator).to(origins.device) if jitter else torch.full((n, 1), 0.5,
                                                                                              device=origins.device)
    t = near + (torch.arange(n_steps, device=origins.device, dtype=origins.dtype)[None] + u) * step  # (n, S)
    keep = (t >= t_in[:, None]) & (t <= t_out[:, None])
    rows, cols = torch.nonzero(keep, as_tuple=True)
    pts = origins[rows] + dirs[rows] * t[rows, cols, None]
    occ = grid.query(pts)
    rows, cols = rows[occ], cols[occ]
    ts = t[rows, cols]
    return ts, rows, torch.full_like(ts, step)
