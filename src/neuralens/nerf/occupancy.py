"""Empty-space skipping: a coarse occupancy grid decides which samples along a ray are worth evaluating.

Like nerfacc's estimators, the grid owns both how samples are drawn (:meth:`OccupancyGrid.sample`) and when it
refreshes itself (:meth:`OccupancyGrid.update_every_n_steps`), so neither the trainer nor the renderer knows
about its warm-up. Rays are marched with a fixed step inside the scene box; samples in cells the grid marks
empty are dropped before the field is called, and the survivors come back packed (``ray_indices``), so each ray
costs only what its occupied stretch costs. The grid keeps an exponential-max estimate of density per cell.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from neuralens.data.cameras import ray_box


class OccupancyGrid(nn.Module):
    """A ``resolution``^3 grid over [-bound, bound]^3 holding a running density estimate per cell.

    Schedule: for the first ``warmup`` training steps nothing is skipped, rays are marched with the cheaper
    ``warmup_march_steps`` and a training batch uses a quarter of its rays; from then on the grid is refreshed
    from the field every ``update_every`` steps.
    """

    def __init__(self, bound: float = 1.5, resolution: int = 64, threshold: float = 0.01, decay: float = 0.95,
                 march_steps: int = 192, warmup: int = 32, update_every: int = 16,
                 warmup_march_steps: int = 48) -> None:
        super().__init__()
        self.bound, self.resolution, self.threshold, self.decay = bound, resolution, threshold, decay
        self.march_steps, self.warmup, self.update_every = march_steps, warmup, update_every
        self.warmup_march_steps = warmup_march_steps
        self.step = 0  # the training step last seen by update_every_n_steps
        self.register_buffer("density", torch.full((resolution,) * 3, float("inf")))  # all occupied until updated
        self.register_buffer("occupied", torch.ones((resolution,) * 3, dtype=torch.bool))

    @property
    def warming_up(self) -> bool:
        return self.step < self.warmup

    def rays_per_step(self, batch_rays: int) -> int:
        """Rays of one training batch: a quarter while warming up, when every sample is still evaluated."""
        return max(1, batch_rays // 4) if self.warming_up and batch_rays > 0 else batch_rays

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

    def update_every_n_steps(self, step: int, density_fn: Callable[[Tensor], Tensor], march_step: float,
                             generator: torch.Generator | None = None) -> None:
        """Call once per training step: refreshes the grid when the schedule says so."""
        self.step = step
        if step >= self.warmup and step % self.update_every == 0:
            self.update(density_fn, march_step, generator)

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

    def sample(self, origins: Tensor, dirs: Tensor, near: float, far: float, train: bool = False,
               generator: torch.Generator | None = None) -> tuple[Tensor, Tensor, Tensor]:
        """Fixed-step samples in [near, far] inside the box, kept only where the grid is occupied.

        Training samples are jittered (one offset per ray); during warm-up they use the coarser march.
        Returns packed ``t`` (sample depths), ``ray_indices`` (sorted) and the step length ``delta``, each (n_kept,).
        """
        n_steps = self.warmup_march_steps if (train and self.warming_up) else self.march_steps
        return march(origins, dirs, near, far, n_steps, self, generator, jitter=train)


def march(origins: Tensor, dirs: Tensor, near: float, far: float, n_steps: int, grid: OccupancyGrid,
          generator: torch.Generator | None = None, jitter: bool = True) -> tuple[Tensor, Tensor, Tensor]:
    """``n_steps`` fixed-step samples per ray in [near, far] and the box, filtered by ``grid`` (packed)."""
    n = origins.shape[0]
    step = (far - near) / n_steps
    t_in, t_out = ray_box(origins, dirs, grid.bound)
    t_in, t_out = t_in.clamp(min=near), t_out.clamp(max=far)
    u = (torch.rand(n, 1, generator=generator).to(origins.device) if jitter
         else torch.full((n, 1), 0.5, device=origins.device))
    t = near + (torch.arange(n_steps, device=origins.device, dtype=origins.dtype)[None] + u) * step  # (n, S)
    keep = (t >= t_in[:, None]) & (t <= t_out[:, None])
    rows, cols = torch.nonzero(keep, as_tuple=True)
    pts = origins[rows] + dirs[rows] * t[rows, cols, None]
    occ = grid.query(pts)
    rows, cols = rows[occ], cols[occ]
    ts = t[rows, cols]
    return ts, rows, torch.full_like(ts, step)
