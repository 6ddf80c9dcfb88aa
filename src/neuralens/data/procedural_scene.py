"""The built-in NeRF scene: an analytically ray-traced still life, generated offline and deterministically.

Two spheres (one striped and matte, one glossy: its highlight moves with the viewer, so colour depends on
view direction), a checkered cube and a checkered floor slab, lit by one directional light, on black.
Objects occlude each other from many of the 360-degree cameras on the upper hemisphere (radius 4, z up).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from neuralens.data.cameras import Camera, get_rays, look_at, slab_intervals

#: a second still life ("builtin-b"): other objects, places and colours, the same cameras
SPHERES_B = [
    ((-0.2, 0.1, 0.35), 0.6, (0.85, 0.8, 0.2), 0.5, True),
    ((0.7, 0.6, -0.3), 0.3, (0.8, 0.2, 0.7), 0.9, False),
]
BOXES_B = [
    ((0.2, -0.9, -0.6), (0.9, -0.2, 0.3), (0.9, 0.4, 0.1), (0.2, 0.2, 0.6), 4.0),
    ((-1.3, -1.3, -0.7), (1.3, 1.3, -0.6), (0.7, 0.45, 0.3), (0.35, 0.25, 0.2), 3.0),
]
#: a forward-facing room ("builtin-ff"): every ray hits something: a checkered back wall at y = 6, a striped floor
#: at z = -1.2, and objects between them; the cameras stand near the origin and look along +y
SPHERES_FF = [
    ((-0.9, 3.2, -0.45), 0.75, (0.9, 0.35, 0.15), 0.3, True),
    ((1.1, 4.3, -0.2), 0.6, (0.2, 0.45, 0.9), 0.8, False),
]
BOXES_FF = [
    ((-6.0, 6.0, -1.2), (6.0, 6.3, 4.0), (0.85, 0.82, 0.7), (0.35, 0.4, 0.55), 1.5),
    ((-6.0, -1.0, -1.5), (6.0, 6.3, -1.2), (0.6, 0.5, 0.35), (0.3, 0.25, 0.2), 2.5),
    ((0.0, 2.0, -1.2), (0.6, 2.6, -0.5), (0.2, 0.7, 0.3), (0.9, 0.9, 0.8), 8.0),
]
#: how far inside a box its checker texture is read (world units)
FACE_INSET = 1e-4
LIGHT = torch.tensor([1.0, 0.5, 1.5]) / math.sqrt(1.0 + 0.25 + 2.25)
SPHERES = [  # center, radius, albedo, specular strength, stripes
    ((0.45, -0.3, 0.1), 0.45, (0.9, 0.35, 0.15), 0.15, True),
    ((-0.5, 0.45, -0.05), 0.38, (0.15, 0.3, 0.9), 0.9, False),
]
BOXES = [  # min corner, max corner, two checker colours, checker frequency
    ((-0.75, -0.85, -0.6), (-0.15, -0.25, 0.0), (0.2, 0.75, 0.25), (0.95, 0.95, 0.85), 6.0),
    ((-1.3, -1.3, -0.7), (1.3, 1.3, -0.6), (0.55, 0.55, 0.55), (0.3, 0.3, 0.32), 2.0),
]


def _sphere_hit(o: Tensor, d: Tensor, c: Tensor, r: float) -> Tensor:
    oc = o - c
    b = (oc * d).sum(-1)
    disc = b * b - (oc * oc).sum(-1) + r * r
    t = -b - torch.sqrt(disc.clamp_min(0))
    return torch.where((disc > 0) & (t > 1e-4), t, torch.full_like(t, float("inf")))


def _box_hit(o: Tensor, d: Tensor, lo: Tensor, hi: Tensor) -> tuple[Tensor, Tensor]:
    tmin, tmax = slab_intervals(o, d, lo, hi)
    t_near, axis = tmin.max(-1)
    t_far = tmax.min(-1).values
    hit = (t_near <= t_far) & (t_near > 1e-4)
    normal = torch.zeros_like(o)
    normal.scatter_(-1, axis[..., None], 1.0)
    normal = normal * -torch.sign((d * normal).sum(-1, keepdim=True))
    return torch.where(hit, t_near, torch.full_like(t_near, float("inf"))), normal


def trace(origins: Tensor, dirs: Tensor, variant: str = "a") -> Tensor:
    """Colour (…, 3) of rays (origins, unit directions) in scene ``a``, ``b`` or ``ff``; black where nothing is
    hit."""
    spheres, boxes = {"a": (SPHERES, BOXES), "b": (SPHERES_B, BOXES_B), "ff": (SPHERES_FF, BOXES_FF)}[variant]
    o, d = origins.reshape(-1, 3).double(), dirs.reshape(-1, 3).double()
    best = torch.full(o.shape[:1], float("inf"), dtype=o.dtype)
    color = torch.zeros_like(o)
    light = LIGHT.to(o.dtype)
    view = -d
    for center, radius, albedo, spec, stripes in spheres:
        c = torch.tensor(center, dtype=o.dtype)
        t = _sphere_hit(o, d, c, radius)
        p = o + d * t.clamp(max=1e3)[:, None]
        n = (p - c) / radius
        base = torch.tensor(albedo, dtype=o.dtype).expand_as(p)
        if stripes:
            band = (torch.sin(14.0 * (p[:, 2] - c[2])) > 0).to(o.dtype)[:, None]
            base = base * (0.55 + 0.45 * band)
        half = light + view
        half = half / half.norm(dim=-1, keepdim=True)
        shade = base * (0.25 + 0.75 * (n @ light).clamp_min(0))[:, None]
        shade = shade + spec * ((n * half).sum(-1).clamp_min(0) ** 40)[:, None]
        closer = t < best
        best = torch.where(closer, t, best)
        color = torch.where(closer[:, None], shade, color)
    for lo, hi, c1, c2, freq in boxes:
        t, n = _box_hit(o, d, torch.tensor(lo, dtype=o.dtype), torch.tensor(hi, dtype=o.dtype))
        # the checker is read just inside the face: on the face itself a coordinate such as 6.0 * 1.5 = 9 sits on
        # a cell border, and rounding would pick a cell per ray (noise no view can predict)
        p = o + d * t.clamp(max=1e3)[:, None] - FACE_INSET * n
        check = (torch.floor(p * freq).sum(-1) % 2 == 0)[:, None]
        base = torch.where(check, torch.tensor(c1, dtype=o.dtype), torch.tensor(c2, dtype=o.dtype))
        shade = base * (0.3 + 0.7 * (n @ light).clamp_min(0))[:, None]
        closer = t < best
        best = torch.where(closer, t, best)
        color = torch.where(closer[:, None], shade, color)
    return color.clamp(0, 1).float().reshape(*origins.shape)


def camera_poses(n: int, radius: float = 4.0, el_range: tuple[float, float] = (8.0, 65.0),
                 phase: float = 0.0) -> Tensor:
    """``n`` poses spread over the upper hemisphere by a golden-angle spiral, all looking at the origin."""
    golden = math.pi * (3.0 - math.sqrt(5.0))
    poses = []
    for k in range(n):
        frac = (k + 0.5) / n
        el = math.radians(el_range[0] + (el_range[1] - el_range[0]) * frac)
        az = golden * k + phase
        eye = torch.tensor([radius * math.cos(el) * math.cos(az), radius * math.cos(el) * math.sin(az),
                            radius * math.sin(el)], dtype=torch.float64)
        poses.append(look_at(eye))
    return torch.stack(poses).float()


def render_views(poses: Tensor, size: int, focal: float, variant: str = "a") -> Tensor:
    """Ground-truth images (N, size, size, 3) of scene ``variant`` from ``poses``."""
    images = []
    for pose in poses:
        o, d = get_rays(size, size, focal, pose.double(), pixel_offset=0.5)  # a pixel is seen at its centre
        images.append(trace(o, d / d.norm(dim=-1, keepdim=True), variant))
    return torch.stack(images)


def forward_facing_poses(n: int, spread: float = 0.9, seed: int = 0) -> Tensor:
    """``n`` cameras on a small patch around the origin (a hand-held capture), all looking along +y at the room's
    back wall, each turned by a few degrees (OpenGL camera-to-world)."""
    g = torch.Generator().manual_seed(seed)
    poses = []
    cols = math.ceil(math.sqrt(n))
    for k in range(n):
        x = spread * ((k % cols) / max(cols - 1, 1) - 0.5)
        z = 0.5 * spread * ((k // cols) / max(math.ceil(n / cols) - 1, 1) - 0.5)
        eye = torch.tensor([x, 0.0, z], dtype=torch.float64)
        target = torch.tensor([0.0, 6.0, 0.0], dtype=torch.float64) + (torch.rand(3, generator=g, dtype=torch.float64)
                                                                       - 0.5) * 0.6
        poses.append(look_at(eye, target))
    return torch.stack(poses).float()


def room_points(n: int = 4000, seed: int = 0) -> Tensor:
    """Points on the room's surfaces (wall, floor, spheres): what structure from motion would reconstruct."""
    g = torch.Generator().manual_seed(seed)
    u = torch.rand(n, 3, generator=g, dtype=torch.float64)
    wall = torch.stack([u[:, 0] * 8 - 4, torch.full((n,), 6.0, dtype=torch.float64), u[:, 1] * 4 - 1.2], -1)
    floor = torch.stack([u[:, 0] * 8 - 4, u[:, 1] * 6, torch.full((n,), -1.2, dtype=torch.float64)], -1)
    spheres = []
    for center, radius, *_ in SPHERES_FF:
        d = torch.randn(n // 4, 3, generator=g, dtype=torch.float64)
        spheres.append(torch.tensor(center, dtype=torch.float64) + radius * d / d.norm(dim=-1, keepdim=True))
    return torch.cat([wall[: n // 2], floor[: n // 2], *spheres])


def render_room(size: int, n_views: int) -> tuple[Tensor, Tensor, Camera]:
    """The forward-facing room seen by ``n_views`` cameras: images (N, H, W, 3) of ``size`` pixels wide (4:3),
    their poses and the camera."""
    height = max(8, round(size * 3 / 4))
    camera = Camera.pinhole(height, size, 0.8 * size)
    poses = forward_facing_poses(n_views)
    images = []
    for pose in poses:
        o, d = camera.rays(pose.double(), pixel_offset=0.5)
        images.append(trace(o, d / d.norm(dim=-1, keepdim=True), "ff"))
    return torch.stack(images), poses, camera
