"""Camera geometry in the OpenGL/Blender convention (camera looks down -z, y up, x right): pinhole rays,
look-at poses, orbits and the ray/box slab test. Scenes (built-in ones are ray-traced) and NeRF both use it."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor


def get_rays(height: int, width: int, focal: float | tuple[float, float], c2w: Tensor,
             center: tuple[float, float] | None = None, pixel_offset: float = 0.0) -> tuple[Tensor, Tensor]:
    """Ray origins and (unnormalised, z = -1 in camera space) directions for every pixel.

    Args:
        height, width: image size in pixels.
        focal: focal length in pixels, or (fx, fy).
        c2w: camera-to-world pose (..., 4, 4) or (..., 3, 4).
        center: principal point (cx, cy); default (width / 2, height / 2).
        pixel_offset: 0.0 reproduces the original NeRF/tiny_nerf code (pixel corners); 0.5 shoots through
            pixel centres.

    Returns:
        origins, directions, each (..., height, width, 3). Pixel (row j, column i) looks along
        ``R @ [(i + off - cx) / fx, -(j + off - cy) / fy, -1]``.
    """
    fx, fy = (focal, focal) if isinstance(focal, (int, float)) else focal
    cx, cy = center if center is not None else (width * 0.5, height * 0.5)
    dev, dt = c2w.device, c2w.dtype
    j, i = torch.meshgrid(torch.arange(height, device=dev, dtype=dt), torch.arange(width, device=dev, dtype=dt),
                          indexing="ij")
    dirs_cam = _camera_dirs(j, i, (fx, fy), (cx, cy), pixel_offset)
    rot = c2w[..., :3, :3]
    directions = torch.einsum("...ab,hwb->...hwa", rot, dirs_cam)
    origins = c2w[..., :3, 3][..., None, None, :].expand_as(directions)
    return origins, directions


def _camera_dirs(rows: Tensor, cols: Tensor, focal: tuple[float, float], center: tuple[float, float],
                 pixel_offset: float) -> Tensor:
    """Camera-space directions (z = -1) through pixels (``rows``, ``cols``), shape (..., 3)."""
    return torch.stack([(cols + pixel_offset - center[0]) / focal[0], -(rows + pixel_offset - center[1]) / focal[1],
                        -torch.ones_like(cols)], -1)


def look_at(eye: Tensor, target: Tensor | None = None, up: Tensor | None = None) -> Tensor:
    """Camera-to-world pose (4, 4) at ``eye`` looking at ``target`` (OpenGL: the camera's -z axis faces it)."""
    target = torch.zeros(3, dtype=eye.dtype) if target is None else target
    up = torch.tensor([0.0, 0.0, 1.0], dtype=eye.dtype) if up is None else up
    back = eye - target
    back = back / back.norm()
    right = torch.linalg.cross(up, back)
    if right.norm() < 1e-6:  # looking straight along up: pick any perpendicular
        right = torch.linalg.cross(torch.tensor([0.0, 1.0, 0.0], dtype=eye.dtype), back)
    right = right / right.norm()
    true_up = torch.linalg.cross(back, right)
    pose = torch.eye(4, dtype=eye.dtype)
    pose[:3, 0], pose[:3, 1], pose[:3, 2], pose[:3, 3] = right, true_up, back, eye
    return pose


def orbit_poses(n: int, radius: float = 4.0, elevation_deg: float = 30.0, target: Tensor | None = None) -> Tensor:
    """``n`` poses on a horizontal circle (z up) looking at ``target``: the 360-degree video path."""
    el = torch.deg2rad(torch.tensor(elevation_deg, dtype=torch.float64))
    poses = []
    for k in range(n):
        az = 2 * torch.pi * k / n
        eye = radius * torch.stack([torch.cos(el) * torch.cos(torch.tensor(az, dtype=torch.float64)),
                                    torch.cos(el) * torch.sin(torch.tensor(az, dtype=torch.float64)), torch.sin(el)])
        poses.append(look_at(eye, target))
    return torch.stack(poses).float()


def spiral_poses(n: int, radii: tuple[float, float, float], focus: float, turns: int = 2) -> Tensor:
    """``n`` poses on the NeRF paper's video path of a forward-facing capture: an ellipse of ``radii`` about the
    average camera (the canonical origin, looking down -z, y up), ``turns`` times round while it moves in depth at
    half that rate, always looking at the point ``focus`` in front of it."""
    target = torch.tensor([0.0, 0.0, -focus], dtype=torch.float64)
    up = torch.tensor([0.0, 1.0, 0.0], dtype=torch.float64)
    poses = []
    for k in range(n):
        th = 2 * math.pi * turns * k / n
        eye = torch.tensor([math.cos(th) * radii[0], -math.sin(th) * radii[1], -math.sin(th / 2) * radii[2]],
                           dtype=torch.float64)
        poses.append(look_at(eye, target, up))
    return torch.stack(poses).float()


def slab_intervals(origins: Tensor, dirs: Tensor, lo: Tensor | float, hi: Tensor | float) -> tuple[Tensor, Tensor]:
    """Per-axis entry and exit parameters (…, 3) of rays o + t d with the box [lo, hi] (the slab test).

    The ray is inside the box for ``max(entry) <= t <= min(exit)``; a miss has ``max(entry) > min(exit)``.
    Axis-parallel rays get a tiny direction instead of 0, so no NaN appears.
    """
    inv = 1.0 / torch.where(dirs.abs() < 1e-9, torch.full_like(dirs, 1e-9), dirs)
    t0, t1 = (lo - origins) * inv, (hi - origins) * inv
    return torch.minimum(t0, t1), torch.maximum(t0, t1)


def ray_box(origins: Tensor, dirs: Tensor, bound: float) -> tuple[Tensor, Tensor]:
    """Entry and exit parameters of rays with the cube [-bound, bound]^3 (t_far < t_near: a miss)."""
    entry, exit_ = slab_intervals(origins, dirs, -bound, bound)
    return entry.amax(-1), exit_.amin(-1)


@dataclass(frozen=True)
class Camera:
    """Pinhole intrinsics in pixels: image size, focal lengths and principal point (non-square, off-centre)."""

    height: int
    width: int
    fx: float
    fy: float
    cx: float
    cy: float
    ndc_near: float | None = None  # forward-facing captures: rays in normalised device coordinates (see ndc_rays)

    @classmethod
    def pinhole(cls, height: int, width: int, focal: float) -> Camera:
        """Square pixels, principal point at the image centre (the NeRF synthetic and tiny_nerf convention)."""
        return cls(height, width, focal, focal, width / 2, height / 2)

    def resized(self, height: int, width: int) -> Camera:
        """The same camera at another resolution (intrinsics scale with the image)."""
        sy, sx = height / self.height, width / self.width
        return Camera(height, width, self.fx * sx, self.fy * sy, self.cx * sx, self.cy * sy, self.ndc_near)

    def rays(self, c2w: Tensor, pixel_offset: float = 0.0) -> tuple[Tensor, Tensor]:
        """:func:`get_rays` for this camera (in NDC when ``ndc_near`` is set): origins, directions (..., H, W, 3)."""
        o, d = get_rays(self.height, self.width, (self.fx, self.fy), c2w, (self.cx, self.cy), pixel_offset)
        return ndc_rays(self, o, d) if self.ndc_near is not None else (o, d)

    def pixel_rays(self, c2w: Tensor, rows: Tensor, cols: Tensor, pixel_offset: float = 0.0
                   ) -> tuple[Tensor, Tensor]:
        """The rays of single pixels: pixel (``rows[k]``, ``cols[k]``) seen from pose ``c2w[k]`` (n, 4, 4); the
        same rays as :meth:`rays` without building every pixel's (what keeps training memory at the images')."""
        dirs_cam = _camera_dirs(rows.to(c2w.dtype), cols.to(c2w.dtype), (self.fx, self.fy), (self.cx, self.cy),
                                pixel_offset)
        d = (c2w[:, :3, :3] @ dirs_cam[:, :, None])[:, :, 0]
        o = c2w[:, :3, 3]
        return ndc_rays(self, o, d) if self.ndc_near is not None else (o, d)


def ndc_rays(camera: Camera, origins: Tensor, dirs: Tensor) -> tuple[Tensor, Tensor]:
    """Rays of a forward-facing capture in normalised device coordinates (NeRF, appendix C).

    The camera frustum from the plane z = -near to infinity maps to the cube [-1, 1]^3, and a ray's depth
    t in [0, 1] there is linear in disparity, so a bounded sampler covers an unbounded forward-facing scene.
    Poses must put the scene in front of the cameras along -z (the LLFF loader recentres them so).
    """
    near = camera.ndc_near
    t = -(near + origins[..., 2]) / dirs[..., 2]
    o = origins + t[..., None] * dirs
    ax, ay = -2 * camera.fx / camera.width, -2 * camera.fy / camera.height
    o_ndc = torch.stack([ax * o[..., 0] / o[..., 2], ay * o[..., 1] / o[..., 2], 1 + 2 * near / o[..., 2]], -1)
    d_ndc = torch.stack([ax * (dirs[..., 0] / dirs[..., 2] - o[..., 0] / o[..., 2]),
                         ay * (dirs[..., 1] / dirs[..., 2] - o[..., 1] / o[..., 2]),
                         -2 * near / o[..., 2]], -1)
    return o_ndc, d_ndc
