"""NeRF scenes: the classic tiny_nerf ``.npz``, the NeRF "Blender" layout, nerfstudio/instant-ngp
``transforms.json`` captures (:mod:`neuralens.data.capture`), and the built-in procedural scene.

A :class:`Scene` holds every view (images N,H,W,3 float32 in [0, 1]; camera-to-world poses N,4,4 in the
OpenGL/Blender convention), the focal length in pixels, near/far bounds and which views train and which test.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from neuralens.core.errors import NeuralensError
from neuralens.core.io import log, read_npz, save_npz
from neuralens.data.capture import forward_facing_scene, load_colmap, load_llff, load_transforms
from neuralens.data.colmap import depth_bounds, model_dir
from neuralens.data.download import file_digest
from neuralens.data.home import TINY_NERF_SHA256, TINY_NERF_SIZE, data_home, nerf_scene
from neuralens.data.procedural_scene import camera_poses, render_room, render_views, room_points
from neuralens.data.scene_base import (
    Scene,
    check_bounds,
    file_number,
    frame_poses,
    read_json_object,
    read_rgba,
    rgba_scene_parts,
    validate,
)
from neuralens.data.scene_spec import SceneChoice, check_scene_args, parse_builtin, parse_views


def _parse_views(text: str | None, n: int) -> list[int] | None:
    idx = parse_views(text)
    if idx is not None and max(idx) >= n:
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
    """``images`` (N,H,W,3), ``poses`` (N,4,4), ``focal``; optional ``near``, ``far``, ``test_idx``, ``aabb`` (2, 3).

    The tiny_nerf notebook's own file (recognised by checksum or layout) gets the notebook's split: train on
    views 0-99, test on view 101, never train on 100-105. Otherwise, without ``test_idx``, every 10th view
    (0, 10, ...) is a test view.
    """
    arr = read_npz(path)
    missing = [k for k in ("images", "poses", "focal") if k not in arr]
    if missing:
        raise NeuralensError(f"{path}: missing {', '.join(missing)}; a tiny_nerf file has images, poses, focal")
    focal = file_number(arr["focal"], str(path), "focal")
    for key in ("images", "poses"):
        if not np.issubdtype(arr[key].dtype, np.number):
            raise NeuralensError(f"{path}: {key} must be numeric, got dtype {arr[key].dtype}")
    images, poses = validate(torch.from_numpy(arr["images"]), torch.from_numpy(arr["poses"]), focal, str(path))
    n = images.shape[0]
    if _is_tiny_nerf(path, images.shape, "test_idx" in arr):  # the notebook's own frame and bounds, untouched
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
    bounds = None
    if "near" in arr or "far" in arr:
        bounds = (file_number(arr.get("near", 2.0), str(path), "near"),
                  file_number(arr.get("far", 6.0), str(path), "far"))
        check_bounds(*bounds, str(path))
    scene = Scene(images, poses, focal, 2.0, 6.0, train, test, path.stem)
    canonical = "canonical_scale" in arr  # written by save_tiny_npz: already in the canonical frame
    if canonical:
        scene.near, scene.far = bounds or (2.0, 6.0)
        scene.scale = file_number(arr["canonical_scale"], str(path), "canonical_scale")
        scene.center = [float(c) for c in np.asarray(arr.get("canonical_center", np.zeros(3))).reshape(-1)[:3]]
    else:
        scene.canonicalize(bounds)
    if "aabb" in arr:
        scene.box_from_aabb(arr["aabb"], str(path), in_canonical_frame=canonical)
    return scene


def save_tiny_npz(scene: Scene, path: str | Path) -> Path:
    """Write a scene in the tiny_nerf layout (plus near, far, test_idx, its canonical frame and box) atomically."""
    box = {} if scene.bound is None else {"aabb": np.array([[-scene.bound] * 3, [scene.bound] * 3])}
    return save_npz(path, images=scene.images.numpy().astype(np.float32), poses=scene.poses.numpy(),
                    focal=np.float64(scene.focal), near=np.float64(scene.near), far=np.float64(scene.far),
                    test_idx=np.array(scene.test_idx, dtype=np.int64), canonical_scale=np.float64(scene.scale),
                    canonical_center=np.array(scene.center, dtype=np.float64), **box)


def _blender_frames(meta_path: Path) -> tuple[float, list[tuple[str, np.ndarray, dict]]]:
    """camera_angle_x and the frames of one Blender transforms file."""
    meta = read_json_object(meta_path)
    angle = meta.get("camera_angle_x")
    if isinstance(angle, bool) or not isinstance(angle, (int, float)) or not 0 < angle < math.pi:
        raise NeuralensError(f"{meta_path.name}: camera_angle_x must be a number in (0, pi) radians, got {angle!r}")
    return float(angle), frame_poses(meta.get("frames"), meta_path.name)


def load_blender(folder: Path, white_background: bool = False, downscale: int = 1) -> Scene:
    """``transforms_{train,val,test}.json`` + RGBA PNGs; composited on black (default) or white.

    Without ``transforms_test.json`` every 10th training view is held out (and not trained on).
    """
    if downscale < 1:
        raise NeuralensError(f"--downscale must be >= 1, got {downscale}")
    images: list[tuple[np.ndarray, np.ndarray]] = []
    poses, train, test = [], [], []
    angle = None
    for split in ("train", "val", "test"):
        meta_path = folder / f"transforms_{split}.json"
        if not meta_path.is_file():
            continue
        angle, frames = _blender_frames(meta_path)
        for file_path, pose, _ in frames:
            img_path = folder / (file_path if file_path.endswith(".png") else file_path + ".png")
            (test if split == "test" else train).append(len(images))
            images.append(read_rgba(img_path, downscale, 1.0 if white_background else 0.0))
            poses.append(pose)
    if not images or angle is None:
        raise NeuralensError(f"{folder}: no transforms_train/val/test.json found (NeRF Blender layout)")
    if not test:
        test = train[::10]
        train = [i for i in train if i not in set(test)]
    shapes = {im.shape for im, _ in images}
    if len(shapes) > 1:
        raise NeuralensError(f"{folder}: images differ in size: {sorted(shapes)}")
    width = images[0][0].shape[1]
    focal = 0.5 * width / math.tan(0.5 * angle)
    stacked, alpha = rgba_scene_parts(images)
    imgs, pz = validate(stacked, torch.from_numpy(np.stack(poses)), focal, str(folder))
    _check_test_views(test, train, len(images), str(folder))
    return Scene(imgs, pz, focal, 2.0, 6.0, train, test, folder.name, background=1.0 if white_background else 0.0,
                 alpha=alpha).canonicalize()


def builtin_scene(size: int = 100, n_train: int = 100, n_test: int = 10, variant: str = "a") -> Scene:
    """The procedural scene (``variant`` a, or the different still life b): ``n_train`` training and ``n_test``
    held-out views, ``size`` x ``size`` pixels, the field of view of the NeRF synthetic scenes."""
    focal = 0.5 * size / math.tan(0.5 * 0.6911112070083618)
    poses = torch.cat([camera_poses(n_train), camera_poses(n_test, el_range=(15.0, 55.0), phase=1.1)])
    images = render_views(poses, size, focal, variant)
    name = f"builtin{size}" if variant == "a" else f"builtin-{variant}{size}"
    return Scene(images, poses, focal, 2.0, 6.0, list(range(n_train)), list(range(n_train, n_train + n_test)), name)


def builtin_ff_scene(size: int = 64, n_views: int = 40) -> Scene:
    """The forward-facing procedural room (``builtin-ff``): ``n_views`` cameras on a small patch, ``size`` pixels
    wide (4:3), prepared as an LLFF capture would be (NDC rays, depth bounds from the room's surface points,
    every 8th view held out)."""
    images, poses, camera = render_room(size, n_views)
    c2w = poses.double().numpy()
    bounds = depth_bounds(c2w, room_points().numpy(), (camera.width / 2 / camera.fx, camera.height / 2 / camera.fy))
    return forward_facing_scene(c2w, bounds, images.numpy(), camera, f"builtin-ff{size}", f"builtin-ff:{size}")


def load_choice(choice: SceneChoice) -> Scene:
    """The scene a :class:`~neuralens.data.scene_spec.SceneChoice` names."""
    return load_scene(choice.spec, choice.split, choice.test_views, choice.white_bg, choice.downscale)


def load_scene(spec: str, split: str | None = None, test_views: str | None = None, white_background: bool = False,
               downscale: int = 1) -> Scene:
    """``auto``, ``builtin`` / ``builtin-b`` (optionally ``:SIZE``), a tiny_nerf ``.npz``, a transforms.json, an LLFF
    capture or a Blender folder; ``white_background`` composites RGBA images on white (refused for scenes without
    alpha, whose background is fixed already).

    ``auto`` is the data home's real scene (``nerf/tiny_nerf_data.npz``, else ``nerf/lego_100.npz``) and the
    built-in procedural scene when there is none (said on stderr).
    """
    check_scene_args(spec, split, test_views)
    scene = _read_scene(spec, white_background, downscale)
    if white_background and scene.alpha is None:
        raise NeuralensError(f"--white-bg: {scene.name} has no alpha channel (its images are composited already); "
                             "white backgrounds need RGBA images (a Blender folder or a transforms.json)")
    return _apply_split(scene, split, test_views)


def _read_scene(spec: str, white_background: bool, downscale: int) -> Scene:
    """The scene ``spec`` names, before any split is applied."""
    if spec == "auto":
        found = nerf_scene()
        if found is None:
            log(f"scene: no NeRF scene in {data_home() / 'nerf'} (neuralens data fetch tiny_nerf); using the "
                "generated built-in scene")
        spec = str(found) if found is not None else "builtin"
    builtin = parse_builtin(spec)
    if builtin is not None:
        name, size = builtin
        if name == "builtin-ff":
            return builtin_ff_scene(size)
        return builtin_scene(size, variant="b" if name == "builtin-b" else "a")
    path = Path(spec)
    if (path.is_dir() and (path / "transforms.json").is_file()) or (path.is_file() and path.suffix == ".json"):
        log(f"scene: {path} is a nerfstudio / instant-ngp capture (transforms.json)")
        return load_transforms(path, white_background, downscale)
    if path.is_file():
        if path.suffix != ".npz":
            raise NeuralensError(f"{path}: a scene file must be a tiny_nerf .npz or a transforms.json (or give a "
                                 "Blender folder)")
        scene = load_tiny_npz(path)
        if downscale > min(scene.height, scene.width):
            raise NeuralensError(f"--downscale {downscale} is larger than the images ({scene.height}x{scene.width})")
        if downscale > 1:
            imgs = torch.nn.functional.avg_pool2d(scene.images.permute(0, 3, 1, 2), downscale).permute(0, 2, 3, 1)
            scene.images, scene.focal = imgs.contiguous(), scene.focal / downscale
        return scene
    if path.is_dir() and (path / "poses_bounds.npy").is_file():
        log(f"scene: {path} is an LLFF capture (poses_bounds.npy): forward-facing, NDC rays")
        return load_llff(path, downscale)
    if path.is_dir() and model_dir(path) is not None:
        log(f"scene: {path} is a COLMAP capture ({model_dir(path).relative_to(path.parent)})")
        return load_colmap(path, downscale)
    if path.is_dir():
        log(f"scene: {path} is a NeRF Blender folder (transforms_*.json)")
        return load_blender(path, white_background, downscale)
    raise NeuralensError(f"--scene {spec!r}: no such file or folder (use auto, builtin, a .npz, a transforms.json "
                         "or a Blender folder)")
