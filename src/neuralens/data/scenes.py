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
from neuralens.core.io import read_npz, save_npz
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
    if images.ndim != 4 or images.shape[-1] not in (3, 4):
        raise NeuralensError(f"{where}: images must be (N, H, W, 3), got {tuple(images.shape)}")
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


def load_tiny_npz(path: Path) -> Scene:
    """``images`` (N,H,W,3), ``poses`` (N,4,4), ``focal``; optional ``near``, ``far``, ``test_idx``.
    Without ``test_idx`` every 10th view (0, 10, ...) is a test view."""
    arr = read_npz(path)
    missing = [k for k in ("images", "poses", "focal") if k not in arr]
    if missing:
        raise NeuralensError(f"{path}: missing {', '.join(missing)}; a tiny_nerf file has images, poses, focal")
    focal = float(np.asarray(arr["focal"]).reshape(-1)[0])
    images, poses = validate(torch.from_numpy(arr["images"]), torch.from_numpy(arr["poses"]), focal, str(path))
    n = images.shape[0]
    test = [int(i) for i in arr["test_idx"]] if "test_idx" in arr else list(range(0, n, 10))
    train = [i for i in range(n) if i not in set(test)]
    return Scene(images, poses, focal, float(arr.get("near", 2.0)), float(arr.get("far", 6.0)), train, test,
                 path.stem)


def save_tiny_npz(scene: Scene, path: str | Path) -> Path:
    """Write a scene in the tiny_nerf layout (plus near, far, test_idx) atomically."""
    return save_npz(path, images=scene.images.numpy().astype(np.float32), poses=scene.poses.numpy(),
                    focal=np.float64(scene.focal), near=np.float64(scene.near), far=np.float64(scene.far),
                    test_idx=np.array(scene.test_idx, dtype=np.int64))


def load_blender(folder: Path, white_background: bool = False, downscale: int = 1) -> Scene:
    """``transforms_{train,val,test}.json`` + RGBA PNGs; composited on black (default) or white."""
    if downscale < 1:
        raise NeuralensError(f"--downscale must be >= 1, got {downscale}")
    images, poses, train, test = [], [], [], []
    angle = None
    for split in ("train", "val", "test"):
        meta_path = folder / f"transforms_{split}.json"
        if not meta_path.is_file():
            continue
        try:
            meta = json.loads(meta_path.read_text())
            angle = float(meta["camera_angle_x"])
            frames = meta["frames"]
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise NeuralensError(f"{meta_path}: not a NeRF transforms file ({exc.__class__.__name__}: {exc})") from None
        for fr in frames:
            img_path = folder / (fr["file_path"] if fr["file_path"].endswith(".png") else fr["file_path"] + ".png")
            try:
                with Image.open(img_path) as im:
                    im = im.convert("RGBA")
                    if downscale > 1:
                        im = im.resize((im.width // downscale, im.height // downscale), Image.BOX)
                    rgba = np.asarray(im, dtype=np.float32) / 255.0
            except (FileNotFoundError, UnidentifiedImageError, OSError) as exc:
                raise NeuralensError(f"{img_path}: cannot read image ({exc.__class__.__name__})") from None
            bg = 1.0 if white_background else 0.0
            rgb = rgba[..., :3] * rgba[..., 3:] + bg * (1 - rgba[..., 3:])
            (test if split == "test" else train).append(len(images))
            images.append(rgb)
            poses.append(np.asarray(fr["transform_matrix"], dtype=np.float64))
    if not images:
        raise NeuralensError(f"{folder}: no transforms_train/val/test.json found (NeRF Blender layout)")
    shapes = {im.shape for im in images}
    if len(shapes) > 1:
        raise NeuralensError(f"{folder}: images differ in size: {sorted(shapes)}")
    width = images[0].shape[1]
    focal = 0.5 * width / math.tan(0.5 * angle)
    imgs, pz = validate(torch.from_numpy(np.stack(images)), torch.from_numpy(np.stack(poses)), focal, str(folder))
    return Scene(imgs, pz, focal, 2.0, 6.0, train, test or train[:1], folder.name)


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
    """``builtin`` / ``builtin-b`` (optionally ``:SIZE``), a tiny_nerf ``.npz``, or a Blender-layout folder."""
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
        if downscale > 1:
            imgs = torch.nn.functional.avg_pool2d(scene.images.permute(0, 3, 1, 2), downscale).permute(0, 2, 3, 1)
            scene.images, scene.focal = imgs.contiguous(), scene.focal / downscale
        return _apply_split(scene, split, test_views)
    if path.is_dir():
        return _apply_split(load_blender(path, white_background, downscale), split, test_views)
    raise NeuralensError(f"--scene {spec!r}: no such file or folder (use builtin, a .npz or a Blender folder)")
