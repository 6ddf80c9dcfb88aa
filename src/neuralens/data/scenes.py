"""NeRF scenes: the classic tiny_nerf ``.npz``, the NeRF "Blender" layout, and the built-in procedural scene.

A :class:`Scene` holds every view (images N,H,W,3 float32 in [0, 1]; camera-to-world poses N,4,4 in the
OpenGL/Blender convention), the focal length in pixels, near/far bounds and which views train and which test.
"""

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
from neuralens.core.io import log, read_npz, save_npz
from neuralens.data.download import file_digest
from neuralens.data.home import TINY_NERF_SHA256, TINY_NERF_SIZE, data_home, nerf_scene
from neuralens.data.procedural_scene import camera_poses, render_views


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

    @property
    def height(self) -> int:
        return int(self.images.shape[1])

    @property
    def width(self) -> int:
        return int(self.images.shape[2])

    def views(self, which: str) -> tuple[Tensor, Tensor]:
        """(images, poses) of the ``train`` or ``test`` split."""
        idx = self.train_idx if which == "train" else self.test_idx
        return self.images[idx], self.poses[idx]


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


def _parse_views(text: str | None, n: int) -> list[int] | None:
    if text is None:
        return None
    try:
        idx = [int(v) for v in str(text).split(",") if v.strip()]
    except ValueError:
        raise NeuralensError(f"--test-views must be comma-separated integers, got {text!r}") from None
    if not idx or min(idx) < 0 or max(idx) >= n:
        raise NeuralensError(f"--test-views {text!r}: indices must lie in 0..{n - 1}")
    return idx


def _apply_split(scene: Scene, split: str | None, test_views: str | None) -> Scene:
    n = scene.images.shape[0]
    idx = _parse_views(test_views, n)
    if split == "all":
        scene.train_idx, scene.test_idx = list(range(n)), list(range(n))
    elif idx is not None:
        scene.test_idx = idx
        scene.train_idx = [i for i in range(n) if i not in set(idx)]
    elif split not in (None, "default"):
        raise NeuralensError(f"unknown split {split!r}; use default or all")
    if not scene.train_idx:
        raise NeuralensError(f"{scene.name}: no training views left")
    return scene


def _number(value: object, where: str, what: str) -> float:
    """One finite number from a file field (a 0-d or 1-element array, or a JSON number)."""
    flat = np.asarray(value).reshape(-1)
    if flat.size != 1 or not np.issubdtype(flat.dtype, np.number) or not np.isfinite(flat[0]):
        raise NeuralensError(f"{where}: {what} must be one finite number, got {value!r}"[:200])
    return float(flat[0])


def check_bounds(near: float, far: float, where: str) -> None:
    """Rays are sampled in [near, far]: both finite, 0 <= near < far."""
    if not (math.isfinite(near) and math.isfinite(far) and 0 <= near < far):
        raise NeuralensError(f"{where}: need 0 <= near < far (finite), got near={near}, far={far}")


def _check_test_views(test: list[int], train: list[int], n: int, where: str) -> None:
    """Held-out views exist, are not empty, and are never trained on."""
    if not test:
        raise NeuralensError(f"{where}: no test views (test_idx is empty)")
    bad = [i for i in test if not 0 <= i < n]
    if bad:
        raise NeuralensError(f"{where}: test view {bad[0]} does not exist (views 0..{n - 1})")
    if set(test) & set(train):
        raise NeuralensError(f"{where}: view {sorted(set(test) & set(train))[0]} is both a training and a test view")


#: the tiny_nerf notebook's split of tiny_nerf_data.npz: train on views 0..99, test on view 101
TINY_NERF_TRAIN, TINY_NERF_TEST_VIEW, TINY_NERF_VIEWS = 100, 101, 106


def _is_tiny_nerf(path: Path, shape: tuple[int, ...], has_split: bool) -> bool:
    """The notebook's own file: by checksum, or by its layout (106 views of 100x100, no stored split)."""
    if path.stat().st_size == TINY_NERF_SIZE and file_digest(path, "sha256") == TINY_NERF_SHA256:
        return True
    return not has_split and tuple(shape[:3]) == (TINY_NERF_VIEWS, 100, 100)


def load_tiny_npz(path: Path) -> Scene:
    """``images`` (N,H,W,3), ``poses`` (N,4,4), ``focal``; optional ``near``, ``far``, ``test_idx``.

    The tiny_nerf notebook's own file (recognised by checksum or layout) gets the notebook's split: train on
    views 0-99, test on view 101, never train on 100-105. Otherwise, without ``test_idx``, every 10th view
    (0, 10, ...) is a test view.
    """
    arr = read_npz(path)
    missing = [k for k in ("images", "poses", "focal") if k not in arr]
    if missing:
        raise NeuralensError(f"{path}: missing {', '.join(missing)}; a tiny_nerf file has images, poses, focal")
    focal = _number(arr["focal"], str(path), "focal")
    for key in ("images", "poses"):
        if not np.issubdtype(arr[key].dtype, np.number):
            raise NeuralensError(f"{path}: {key} must be numeric, got dtype {arr[key].dtype}")
    images, poses = validate(torch.from_numpy(arr["images"]), torch.from_numpy(arr["poses"]), focal, str(path))
    n = images.shape[0]
    if _is_tiny_nerf(path, images.shape, "test_idx" in arr):
        # the notebook trains on views 0-99 and shows view 101; 100-105 (lego's official test views) stay unseen
        train, test = list(range(TINY_NERF_TRAIN)), [TINY_NERF_TEST_VIEW]
        _check_test_views(test, train, n, str(path))
        return Scene(images, poses, focal, 2.0, 6.0, train, test, "tiny_nerf_data")
    if "test_idx" in arr:
        raw = np.asarray(arr["test_idx"]).reshape(-1)
        if not np.issubdtype(raw.dtype, np.integer):
            raise NeuralensError(f"{path}: test_idx must be integers, got dtype {raw.dtype}")
        test = [int(i) for i in raw]
    else:
        test = list(range(0, n, 10))
    train = [i for i in range(n) if i not in set(test)]
    _check_test_views(test, train, n, str(path))
    near = _number(arr["near"], str(path), "near") if "near" in arr else 2.0
    far = _number(arr["far"], str(path), "far") if "far" in arr else 6.0
    check_bounds(near, far, str(path))
    return Scene(images, poses, focal, near, far, train, test, path.stem)


def save_tiny_npz(scene: Scene, path: str | Path) -> Path:
    """Write a scene in the tiny_nerf layout (plus near, far, test_idx) atomically."""
    return save_npz(path, images=scene.images.numpy().astype(np.float32), poses=scene.poses.numpy(),
                    focal=np.float64(scene.focal), near=np.float64(scene.near), far=np.float64(scene.far),
                    test_idx=np.array(scene.test_idx, dtype=np.int64))


def _blender_frames(meta_path: Path) -> tuple[float, list[tuple[str, np.ndarray]]]:
    """camera_angle_x and (file_path, 4x4 pose) of every frame of one transforms file, checked field by field."""
    try:
        meta = json.loads(meta_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise NeuralensError(f"{meta_path.name}: not valid JSON ({exc})") from None
    if not isinstance(meta, dict):
        raise NeuralensError(f"{meta_path.name}: must hold a JSON object with camera_angle_x and frames")
    angle = meta.get("camera_angle_x")
    if isinstance(angle, bool) or not isinstance(angle, (int, float)) or not 0 < angle < math.pi:
        raise NeuralensError(f"{meta_path.name}: camera_angle_x must be a number in (0, pi) radians, got {angle!r}")
    frames = meta.get("frames")
    if not isinstance(frames, list) or not frames:
        raise NeuralensError(f"{meta_path.name}: frames must be a non-empty list")
    out = []
    for k, fr in enumerate(frames):
        if not isinstance(fr, dict) or not isinstance(fr.get("file_path"), str):
            raise NeuralensError(f"{meta_path.name}: frame {k} has no file_path")
        if "transform_matrix" not in fr:
            raise NeuralensError(f"{meta_path.name}: frame {k} has no transform_matrix")
        try:
            pose = np.asarray(fr["transform_matrix"], dtype=np.float64)
        except (TypeError, ValueError):
            raise NeuralensError(f"{meta_path.name}: frame {k}: transform_matrix is not numeric") from None
        if pose.shape != (4, 4):
            raise NeuralensError(f"{meta_path.name}: frame {k}: transform_matrix must be 4x4, got {pose.shape}")
        out.append((fr["file_path"], pose))
    return float(angle), out


def _read_rgba(path: Path, downscale: int, background: float) -> np.ndarray:
    """One RGBA (or RGB) image composited on ``background``, shrunk by ``downscale`` with a box filter."""
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
    return rgba[..., :3] * rgba[..., 3:] + background * (1 - rgba[..., 3:])


def load_blender(folder: Path, white_background: bool = False, downscale: int = 1) -> Scene:
    """``transforms_{train,val,test}.json`` + RGBA PNGs; composited on black (default) or white.

    Without ``transforms_test.json`` every 10th training view is held out (and not trained on).
    """
    if downscale < 1:
        raise NeuralensError(f"--downscale must be >= 1, got {downscale}")
    images, poses, train, test = [], [], [], []
    angle = None
    for split in ("train", "val", "test"):
        meta_path = folder / f"transforms_{split}.json"
        if not meta_path.is_file():
            continue
        angle, frames = _blender_frames(meta_path)
        for file_path, pose in frames:
            img_path = folder / (file_path if file_path.endswith(".png") else file_path + ".png")
            (test if split == "test" else train).append(len(images))
            images.append(_read_rgba(img_path, downscale, 1.0 if white_background else 0.0))
            poses.append(pose)
    if not images or angle is None:
        raise NeuralensError(f"{folder}: no transforms_train/val/test.json found (NeRF Blender layout)")
    if not test:
        test = train[::10]
        train = [i for i in train if i not in set(test)]
    shapes = {im.shape for im in images}
    if len(shapes) > 1:
        raise NeuralensError(f"{folder}: images differ in size: {sorted(shapes)}")
    width = images[0].shape[1]
    focal = 0.5 * width / math.tan(0.5 * angle)
    imgs, pz = validate(torch.from_numpy(np.stack(images)), torch.from_numpy(np.stack(poses)), focal, str(folder))
    _check_test_views(test, train, len(images), str(folder))
    return Scene(imgs, pz, focal, 2.0, 6.0, train, test, folder.name)


def builtin_scene(size: int = 100, n_train: int = 100, n_test: int = 10, variant: str = "a") -> Scene:
    """The procedural scene (``variant`` a, or the different still life b): ``n_train`` training and ``n_test``
    held-out views, ``size`` x ``size`` pixels, the field of view of the NeRF synthetic scenes."""
    focal = 0.5 * size / math.tan(0.5 * 0.6911112070083618)
    poses = torch.cat([camera_poses(n_train), camera_poses(n_test, el_range=(15.0, 55.0), phase=1.1)])
    images = render_views(poses, size, focal, variant)
    name = f"builtin{size}" if variant == "a" else f"builtin-{variant}{size}"
    return Scene(images, poses, focal, 2.0, 6.0, list(range(n_train)), list(range(n_train, n_train + n_test)), name)


def load_scene(spec: str, split: str | None = None, test_views: str | None = None, white_background: bool = False,
               downscale: int = 1) -> Scene:
    """``auto``, ``builtin`` / ``builtin-b`` (optionally ``:SIZE``), a tiny_nerf ``.npz``, or a Blender folder.

    ``auto`` is the data home's real scene (``nerf/tiny_nerf_data.npz``, else ``nerf/lego_100.npz``) and the
    built-in procedural scene when there is none (said on stderr).
    """
    if spec == "auto":
        found = nerf_scene()
        if found is None:
            log(f"scene: no NeRF scene in {data_home() / 'nerf'} (neuralens data fetch tiny_nerf); using the "
                "generated built-in scene")
        spec = str(found) if found is not None else "builtin"
    name, _, size_text = spec.partition(":")
    if name in ("builtin", "builtin-b"):
        try:
            size = int(size_text) if size_text else 100
        except ValueError:
            raise NeuralensError(f"--scene {spec!r}: use builtin, builtin-b or builtin:SIZE") from None
        if not 8 <= size <= 1024:
            raise NeuralensError(f"--scene {spec!r}: size must lie in 8..1024")
        return _apply_split(builtin_scene(size, variant="b" if name == "builtin-b" else "a"), split, test_views)
    path = Path(spec)
    if path.is_file():
        if path.suffix != ".npz":
            raise NeuralensError(f"{path}: a scene file must be a tiny_nerf .npz (or give a Blender folder)")
        scene = load_tiny_npz(path)
        if downscale > min(scene.height, scene.width):
            raise NeuralensError(f"--downscale {downscale} is larger than the images ({scene.height}x{scene.width})")
        if downscale > 1:
            imgs = torch.nn.functional.avg_pool2d(scene.images.permute(0, 3, 1, 2), downscale).permute(0, 2, 3, 1)
            scene.images, scene.focal = imgs.contiguous(), scene.focal / downscale
        return _apply_split(scene, split, test_views)
    if path.is_dir():
        return _apply_split(load_blender(path, white_background, downscale), split, test_views)
    raise NeuralensError(f"--scene {spec!r}: no such file or folder (use builtin, a .npz or a Blender folder)")
