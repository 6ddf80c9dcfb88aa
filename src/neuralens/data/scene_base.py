"""What every NeRF scene loader shares: the :class:`Scene`, input validation, and reading frames and images."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from torch import Tensor

from neuralens.core.errors import NeuralensError
from neuralens.data.cameras import Camera
from neuralens.data.geometry import canonical_frame, to_canonical

_FLOATS = frozenset({"focal", "near", "far", "fy", "cx", "cy", "scale", "ndc_near", "background", "bound",
                     "focus"})
_INDICES = frozenset({"train_idx", "test_idx"})


@dataclass
class Scene:
    images: Tensor
    poses: Tensor
    focal: float
    near: float = 2.0
    far: float = 6.0
    train_idx: list[int] = field(default_factory=list)
    test_idx: list[int] = field(default_factory=list)
    name: str = "scene"
    fy: float | None = None  # None: square pixels (fy = focal)
    cx: float | None = None  # None: the image centre
    cy: float | None = None
    center: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])  # world point at the canonical origin
    scale: float = 1.0  # canonical units per world unit
    ndc_near: float | None = None  # forward-facing captures: rays in NDC from this near plane (near/far = 0/1)
    background: float = 0.0  # the grey level ``images`` are composited on; the renderer's background constant
    alpha: Tensor | None = None  # (N, H, W) coverage of RGBA images: what random-background training needs
    bound: float | None = None  # half-size of the scene box in canonical units (None: the recipe's 1.5)
    focus: float | None = None  # forward-facing captures: the depth their video path looks at (canonical units)

    def __setattr__(self, name: str, value: object) -> None:
        """Numbers enter as Python ``float``/``int`` whatever computed them (numpy, 0-d tensors): checkpoints keep
        the scene and hold plain data only, so a numpy scalar here would make a checkpoint no loader accepts."""
        if name in _FLOATS and value is not None:
            value = float(value)  # type: ignore[arg-type]
        elif name in _INDICES:
            value = [int(i) for i in value]  # type: ignore[attr-defined]
        elif name == "center":
            value = [float(c) for c in value]  # type: ignore[attr-defined]
        super().__setattr__(name, value)

    @property
    def camera(self) -> Camera:
        """The intrinsics of every view (pixels)."""
        return Camera(self.height, self.width, self.focal, self.fy or self.focal,
                      self.width / 2 if self.cx is None else self.cx, self.height / 2 if self.cy is None else self.cy,
                      self.ndc_near)

    def canonicalize(self, bounds: tuple[float, float] | None = None) -> Scene:
        """Move the scene into the canonical frame (see :mod:`neuralens.data.geometry`); near/far are the file's
        ``bounds`` (world units) when it has them, else estimated from the cameras."""
        center, scale, near, far = canonical_frame(self.poses, self.camera)
        if bounds is not None:
            near, far = bounds[0] * scale, bounds[1] * scale
        check_bounds(near, far, self.name)
        self.poses = to_canonical(self.poses, center, scale)
        self.near, self.far, self.center, self.scale = near, far, center, scale
        return self

    def set_box(self, bound: float) -> None:
        """Use the scene box [-bound, bound]^3 (canonical units) and make ``far`` reach its farthest corner."""
        self.bound = bound
        dist = float(self.poses[:, :3, 3].norm(dim=-1).max())
        self.far = max(self.far, dist + bound * math.sqrt(3))

    def box_from_aabb(self, aabb: object, where: str, in_canonical_frame: bool = False) -> None:
        """The file's axis-aligned box ``[[x0, y0, z0], [x1, y1, z1]]`` (in the file's units) as the scene box: the
        smallest cube about the canonical origin that holds it."""
        try:
            box = np.asarray(aabb, dtype=np.float64)
        except (TypeError, ValueError):
            raise NeuralensError(f"{where}: aabb must be [[x0, y0, z0], [x1, y1, z1]]") from None
        if box.shape != (2, 3) or not np.isfinite(box).all() or not (box[0] < box[1]).all():
            raise NeuralensError(f"{where}: aabb must be [[x0, y0, z0], [x1, y1, z1]] with x0 < x1 (finite)")
        if not in_canonical_frame:
            box = (box - np.asarray(self.center)) * self.scale
        self.set_box(float(np.abs(box).max()))

    @property
    def height(self) -> int:
        return int(self.images.shape[1])

    @property
    def width(self) -> int:
        return int(self.images.shape[2])


def validate(images: Tensor, poses: Tensor, focal: float, where: str) -> tuple[Tensor, Tensor]:
    """Check shapes, value ranges and that poses are rigid; return float32 (N,H,W,3) and (N,4,4)."""
    if images.ndim != 4 or images.shape[-1] not in (3, 4) or min(images.shape) == 0:
        raise NeuralensError(f"{where}: images must be (N, H, W, 3) with at least one view, got "
                             f"{tuple(images.shape)}")
    if images.shape[-1] == 4:
        raise NeuralensError(f"{where}: images have an alpha channel; composite them (RGB only)")
    if images.dtype == torch.uint8:
        images = images.float() / 255.0
    images = images.float()
    if not torch.isfinite(images).all():
        raise NeuralensError(f"{where}: images contain NaN or infinite values")
    if images.min() < -1e-3 or images.max() > 1 + 1e-3:
        raise NeuralensError(f"{where}: images must lie in [0, 1], got {float(images.min()):.3g}.."
                             f"{float(images.max()):.3g}")
    if poses.ndim != 3 or poses.shape[-2:] not in ((4, 4), (3, 4)):
        raise NeuralensError(f"{where}: poses must be (N, 4, 4) camera-to-world, got {tuple(poses.shape)}")
    if poses.shape[0] != images.shape[0]:
        raise NeuralensError(f"{where}: {images.shape[0]} images but {poses.shape[0]} poses")
    poses = poses.double()
    if not torch.isfinite(poses).all():
        raise NeuralensError(f"{where}: poses contain NaN or infinite values")
    if poses.shape[-2] == 3:
        bottom = torch.tensor([0, 0, 0, 1.0], dtype=poses.dtype).expand(poses.shape[0], 1, 4)
        poses = torch.cat([poses, bottom], 1)
    rot = poses[:, :3, :3]
    ortho = (rot.transpose(1, 2) @ rot - torch.eye(3, dtype=rot.dtype)).abs().amax((1, 2))
    det = torch.linalg.det(rot)
    bad = torch.nonzero((ortho > 1e-3) | ((det - 1).abs() > 1e-3)).flatten().tolist()
    if bad:
        raise NeuralensError(f"{where}: pose {bad[0]} is not rigid (rotation not orthonormal with det +1); "
                             f"{len(bad)} bad pose(s)")
    if not (math.isfinite(focal) and focal > 0):
        raise NeuralensError(f"{where}: focal must be a positive number, got {focal}")
    return images.contiguous(), poses.float()


def file_number(value: object, where: str, what: str) -> float:
    """One finite number from a file field (a 0-d or 1-element array, or a JSON number)."""
    flat = np.asarray(value).reshape(-1)
    if flat.size != 1 or not np.issubdtype(flat.dtype, np.number) or not np.isfinite(flat[0]):
        raise NeuralensError(f"{where}: {what} must be one finite number, got {value!r}"[:200])
    return float(flat[0])


def check_bounds(near: float, far: float, where: str) -> None:
    """Rays are sampled in [near, far]: both finite, 0 <= near < far."""
    if not (math.isfinite(near) and math.isfinite(far) and 0 <= near < far):
        raise NeuralensError(f"{where}: need 0 <= near < far (finite), got near={near}, far={far}")


def frame_poses(frames: object, where: str) -> list[tuple[str, np.ndarray, dict]]:
    """(file_path, 4x4 pose, frame dict) of every frame of a transforms file, checked field by field."""
    if not isinstance(frames, list) or not frames:
        raise NeuralensError(f"{where}: frames must be a non-empty list")
    out = []
    for k, fr in enumerate(frames):
        if not isinstance(fr, dict) or not isinstance(fr.get("file_path"), str):
            raise NeuralensError(f"{where}: frame {k} has no file_path")
        if "transform_matrix" not in fr:
            raise NeuralensError(f"{where}: frame {k} has no transform_matrix")
        try:
            pose = np.asarray(fr["transform_matrix"], dtype=np.float64)
        except (TypeError, ValueError):
            raise NeuralensError(f"{where}: frame {k}: transform_matrix is not numeric") from None
        if pose.shape != (4, 4):
            raise NeuralensError(f"{where}: frame {k}: transform_matrix must be 4x4, got {pose.shape}")
        out.append((fr["file_path"], pose, fr))
    return out


def read_json_object(path: Path) -> dict:
    try:
        meta = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise NeuralensError(f"{path.name}: not valid JSON ({exc})") from None
    if not isinstance(meta, dict):
        raise NeuralensError(f"{path.name}: must hold a JSON object with frames")
    return meta


def read_rgba(path: Path, downscale: int, background: float) -> tuple[np.ndarray, np.ndarray]:
    """One RGBA (or RGB: alpha 1) image composited on ``background``, shrunk by ``downscale`` with a box filter;
    returns (rgb (H, W, 3), alpha (H, W))."""
    try:
        with Image.open(path) as im:
            im = im.convert("RGBA")
            if downscale > 1:
                if downscale > min(im.width, im.height):
                    raise NeuralensError(f"--downscale {downscale} is larger than {path.name} "
                                         f"({im.width}x{im.height})")
                im = im.resize((im.width // downscale, im.height // downscale), Image.BOX)
            rgba = np.asarray(im, dtype=np.float32) / 255.0
    except (FileNotFoundError, UnidentifiedImageError, OSError) as exc:
        raise NeuralensError(f"{path}: cannot read image ({exc.__class__.__name__})") from None
    alpha = rgba[..., 3:]
    return rgba[..., :3] * alpha + background * (1 - alpha), alpha[..., 0]


def rgba_scene_parts(pairs: list[tuple[np.ndarray, np.ndarray]]) -> tuple[Tensor, Tensor | None]:
    """Stacked images and alpha of :func:`read_rgba` results; alpha is ``None`` when every pixel is opaque
    (an RGB capture: there is no background to change)."""
    alpha = torch.from_numpy(np.stack([a for _, a in pairs]))
    return torch.from_numpy(np.stack([rgb for rgb, _ in pairs])), (None if bool((alpha == 1).all()) else alpha)
