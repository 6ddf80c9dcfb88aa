"""Scene geometry from the cameras alone: where the scene is, how large, and its near/far bounds.

Every scene is moved into one canonical frame before training, so a capture at any scale or position trains
like the NeRF synthetic scenes the recipes were tuned on: the point the cameras look at goes to the origin and
the median camera distance to :data:`REFERENCE_DISTANCE` (the NeRF synthetic cameras' radius). Scaling every
camera position by 4, or shifting them all, therefore gives the same canonical scene and the same result.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from neuralens.data.cameras import Camera

#: median camera distance in the canonical frame: the NeRF synthetic scenes' camera radius
REFERENCE_DISTANCE = 4.0311
#: half-size of the box that holds a NeRF synthetic object at that camera radius (instant-ngp's unit cube)
REFERENCE_BOUND = 1.5


def look_at_point(poses: Tensor) -> Tensor:
    """The point closest (least squares) to every camera's optical axis (its -z axis); (3,) float64.

    Cameras that all look the same way (a forward-facing capture) have no such point; then the mean camera
    position is returned.
    """
    p = poses.double()
    origins, axes = p[:, :3, 3], -p[:, :3, 2]
    axes = axes / axes.norm(dim=-1, keepdim=True)
    proj = torch.eye(3, dtype=p.dtype) - axes[:, :, None] * axes[:, None, :]  # (N, 3, 3)
    a, b = proj.sum(0), (proj @ origins[:, :, None]).sum(0)[:, 0]
    if torch.linalg.cond(a) > 1e6:
        return origins.mean(0)
    return torch.linalg.solve(a, b)


def scene_radius(distances: Tensor, camera: Camera) -> float:
    """Radius of the sphere the nearest camera sees whole: its distance times sin(half the diagonal field of view)."""
    half_diag = math.atan(math.hypot(camera.width / (2 * camera.fx), camera.height / (2 * camera.fy)))
    return float(distances.min()) * math.sin(half_diag)


def canonical_frame(poses: Tensor, camera: Camera) -> tuple[Tensor, float, float, float]:
    """(centre, scale, near, far): world point -> (point - centre) * scale; near/far in canonical units."""
    center = look_at_point(poses)
    dist = (poses.double()[:, :3, 3] - center).norm(dim=-1)
    scale = REFERENCE_DISTANCE / float(dist.median())
    radius = scene_radius(dist, camera) * scale
    near = max(float(dist.min()) * scale - radius, 0.05 * float(dist.min()) * scale)
    return center, scale, near, float(dist.max()) * scale + radius


def to_canonical(poses: Tensor, center: Tensor, scale: float) -> Tensor:
    """Camera-to-world poses moved by -centre and scaled (rotations unchanged)."""
    out = poses.clone()
    out[:, :3, 3] = ((poses[:, :3, 3].double() - center) * scale).to(poses.dtype)
    return out
