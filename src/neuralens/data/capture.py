"""Real captures.

* nerfstudio / instant-ngp ``transforms.json`` (COLMAP poses, OpenGL camera convention). Intrinsics come from the
  file, globally or per frame: ``fl_x``, ``fl_y``, ``cx``, ``cy``, ``w``, ``h`` (or ``camera_angle_x``/``_y``);
  images may be non-square with the principal point off centre. Every 10th view is held out. The scene is moved
  into the canonical frame (:mod:`neuralens.data.geometry`), with near/far estimated from the cameras; an
  ``aabb`` sets the scene box, else an ``aabb_scale`` grows it (and far) by that factor, as in instant-ngp.
* LLFF forward-facing captures: ``poses_bounds.npy`` (N x 17: a 3x5 [rotation | position | H, W, focal] matrix in
  LLFF's [down, right, back] axes, then near and far) with ``images/`` or ``images_K/`` (downsampled by K). As in
  the NeRF paper, poses are scaled so the nearest bound sits at 1/0.75, recentred on their average pose, and rays
  are used in normalised device coordinates (:func:`neuralens.data.cameras.ndc_rays`), where the unbounded
  scene in front of the cameras fits t in [0, 1]; samples stop a margin past the deepest bound. Every 8th view is
  held out (LLFF's convention).
* COLMAP models (``sparse/0`` + ``images/``, :mod:`neuralens.data.colmap`): forward-facing captures become the
  scene their LLFF export would be; object captures go to the canonical frame.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import torch

from neuralens.core.errors import NeuralensError
from neuralens.data.cameras import Camera
from neuralens.data.colmap import depth_bounds, forward_facing, model_dir, read_model
from neuralens.data.geometry import REFERENCE_BOUND
from neuralens.data.scene_base import (
    Scene,
    file_number,
    frame_poses,
    read_json_object,
    read_rgba,
    rgba_scene_parts,
    validate,
)

INTRINSICS = ("fl_x", "fl_y", "cx", "cy", "w", "h")


def _intrinsics(meta: dict[str, Any], frame: dict[str, Any], width: int, height: int, where: str) -> Camera:
    """The camera of one frame: its own keys first, then the file's, then field-of-view angles."""
    def get(key: str) -> Any:
        value = frame.get(key, meta.get(key))
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                  or not math.isfinite(value)):
            raise NeuralensError(f"{where}: {key} must be a number, got {value!r}")
        return value

    w, h = get("w") or width, get("h") or height
    fx, fy = get("fl_x"), get("fl_y")
    if fx is None and get("camera_angle_x") is not None:
        fx = 0.5 * w / math.tan(0.5 * get("camera_angle_x"))
    if fy is None and get("camera_angle_y") is not None:
        fy = 0.5 * h / math.tan(0.5 * get("camera_angle_y"))
    fx = fx or fy
    fy = fy or fx
    if not fx or fx <= 0:
        raise NeuralensError(f"{where}: no focal length (fl_x/fl_y or camera_angle_x)")
    cam = Camera(int(h), int(w), float(fx), float(fy), float(get("cx") if get("cx") is not None else w / 2),
                 float(get("cy") if get("cy") is not None else h / 2))
    return cam.resized(height, width) if (cam.height, cam.width) != (height, width) else cam


def load_transforms(path: Path, white_background: bool = False, downscale: int = 1) -> Scene:
    """A ``transforms.json`` (or a folder holding one) and its images, as a canonical :class:`Scene`."""
    path = path / "transforms.json" if path.is_dir() else path
    meta = read_json_object(path)
    frames = frame_poses(meta.get("frames"), path.name)
    images, poses, cameras = [], [], []
    for k, (file_path, pose, frame) in enumerate(frames):
        img_path = path.parent / file_path
        if not img_path.suffix:
            img_path = img_path.with_suffix(".png")
        rgb, alpha = read_rgba(img_path, downscale, 1.0 if white_background else 0.0)
        images.append((rgb, alpha))
        poses.append(pose)
        cameras.append(_intrinsics(meta, frame, rgb.shape[1], rgb.shape[0], f"{path.name}: frame {k}"))
    if len({im.shape for im, _ in images}) > 1 or len(set(cameras)) > 1:
        raise NeuralensError(f"{path.name}: frames differ in image size or intrinsics; neuralens trains one camera")
    cam = cameras[0]
    stacked, alpha = rgba_scene_parts(images)
    imgs, pz = validate(stacked, torch.from_numpy(np.stack(poses)), cam.fx, path.name)
    n = len(images)
    test = list(range(0, n, 10)) if n > 1 else [0]
    train = [i for i in range(n) if i not in set(test)] or [0]
    scene = Scene(imgs, pz, cam.fx, 2.0, 6.0, train, test, path.parent.name or path.stem, fy=cam.fy, cx=cam.cx,
                  cy=cam.cy, background=1.0 if white_background else 0.0, alpha=alpha)
    scene.canonicalize()
    if meta.get("aabb") is not None:
        scene.box_from_aabb(meta["aabb"], path.name)
    elif meta.get("aabb_scale") is not None:
        aabb_scale = file_number(meta["aabb_scale"], path.name, "aabb_scale")
        if not 1 <= aabb_scale <= 128:
            raise NeuralensError(f"{path.name}: aabb_scale must lie in 1..128, got {aabb_scale:g}")
        # instant-ngp: the scene reaches aabb_scale times past the unit cube that holds an object seen from the
        # reference camera radius; the grid keeps its resolution, so each cell grows with the box
        scene.set_box(REFERENCE_BOUND * aabb_scale)
    return scene


LLFF_HOLDOUT = 8
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".PNG", ".JPG", ".JPEG")


def _average_pose(c2w: np.ndarray) -> np.ndarray:
    """The mean camera: mean position, mean back axis, mean up axis made orthonormal (4x4)."""
    back = c2w[:, :3, 2].sum(0)
    back /= np.linalg.norm(back)
    up = c2w[:, :3, 1].sum(0)
    right = np.cross(up, back)
    right /= np.linalg.norm(right)
    avg = np.eye(4)
    avg[:3, :3] = np.stack([right, np.cross(back, right), back], 1)
    avg[:3, 3] = c2w[:, :3, 3].mean(0)
    return avg


def _image_files(folder: Path, downscale: int) -> tuple[Path, int]:
    """The image folder of a capture (``images_K`` when it exists for ``--downscale K``) and the factor still to
    apply to its images."""
    sub = folder / f"images_{downscale}" if downscale > 1 and (folder / f"images_{downscale}").is_dir() else None
    return (sub, 1) if sub else (folder / "images", downscale)


#: a forward-facing scene's far plane sits this far beyond its deepest point (NDC t = 1 - near / depth)
FAR_MARGIN = 1.5


def forward_facing_scene(c2w: np.ndarray, bounds: np.ndarray, images: np.ndarray, camera: Camera, name: str,
                         where: str, holdout: int = 8) -> Scene:
    """A forward-facing capture as the NeRF paper prepares it: scaled so the nearest bound sits at 1/0.75,
    recentred on the average pose, NDC rays from the plane z = -1; samples stop past the deepest point the
    bounds know of (t = 1 - 1 / (depth * FAR_MARGIN)), not at infinity. The video path looks at the paper's focus
    depth, 1 / (0.25 / close + 0.75 / deep), close = 0.9 x the nearest bound, deep = 5 x the deepest.
    ``c2w`` (N, 4, 4) OpenGL, ``bounds`` (N, 2) near/far depths, ``images`` (N, H, W, 3) in [0, 1]."""
    c2w = c2w.copy()
    scale = 1.0 / (bounds.min() * 0.75)
    c2w[:, :3, 3] *= scale  # the nearest bound at 1/0.75
    c2w = np.linalg.inv(_average_pose(c2w)) @ c2w
    far = min(1.0, 1.0 - 1.0 / (float(bounds.max()) * scale * FAR_MARGIN))
    imgs, pz = validate(torch.from_numpy(images), torch.from_numpy(c2w), camera.fx, where)
    test = list(range(0, len(c2w), holdout))
    train = [i for i in range(len(c2w)) if i not in set(test)] or [0]
    focus = 1.0 / (0.25 / (0.9 * float(bounds.min()) * scale) + 0.75 / (5.0 * float(bounds.max()) * scale))
    return Scene(imgs, pz, camera.fx, 0.0, far, train, test, name, fy=camera.fy, cx=camera.cx, cy=camera.cy,
                 ndc_near=1.0, focus=focus)


def load_llff(folder: Path, downscale: int = 1) -> Scene:
    """An LLFF capture (see the module docstring) as a :class:`Scene` with NDC rays."""
    where = f"{folder.name}/poses_bounds.npy"
    try:
        pb = np.load(folder / "poses_bounds.npy", allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise NeuralensError(f"{where}: cannot read ({exc})") from None
    if pb.ndim != 2 or pb.shape[1] != 17 or not np.issubdtype(pb.dtype, np.number) or not np.isfinite(pb).all():
        raise NeuralensError(f"{where}: must be a finite (N, 17) array, got {pb.shape} {pb.dtype}")
    mats, bounds = pb[:, :15].reshape(-1, 3, 5), pb[:, 15:17]
    if (bounds <= 0).any() or (bounds[:, 0] >= bounds[:, 1]).any():
        raise NeuralensError(f"{where}: need 0 < near < far in every row's last two numbers")
    h_full, w_full, focal_full = mats[0, :, 4]
    img_dir, step = _image_files(folder, downscale)
    files = sorted(p for p in img_dir.glob("*") if p.suffix in IMAGE_SUFFIXES) if img_dir.is_dir() else []
    if len(files) != len(pb):
        raise NeuralensError(f"{folder.name}: {len(pb)} poses but {len(files)} images in {img_dir.name}/")
    images = np.stack([read_rgba(f, step, 0.0)[0] for f in files])
    rot = mats[:, :, :3]
    c2w = np.tile(np.eye(4), (len(pb), 1, 1))
    c2w[:, :3, :3] = np.stack([rot[:, :, 1], -rot[:, :, 0], rot[:, :, 2]], -1)  # [down, right, back] -> OpenGL
    c2w[:, :3, 3] = mats[:, :, 3]
    camera = Camera.pinhole(int(h_full), int(w_full), float(focal_full)).resized(images.shape[1], images.shape[2])
    return forward_facing_scene(c2w, bounds, images, camera, folder.name, where, LLFF_HOLDOUT)


def load_colmap(folder: Path, downscale: int = 1) -> Scene:
    """A COLMAP capture (``sparse/0`` model + ``images/``, see :mod:`neuralens.data.colmap`): forward-facing ones
    as their LLFF export would be (NDC), object captures in the canonical frame."""
    d = model_dir(folder)
    if d is None:
        raise NeuralensError(f"{folder}: no COLMAP model (sparse/0/cameras.txt or .bin)")
    model = read_model(d)
    used = [model.cameras[c] for c in {im.camera_id for im in model.images}]
    if len({(*c.pinhole(str(d)), c.width, c.height) for c in used}) > 1:
        raise NeuralensError(f"{d}: images use cameras with different intrinsics; neuralens trains one camera")
    cam = model.cameras[model.images[0].camera_id]
    fx, fy, cx, cy = cam.pinhole(str(d))
    img_dir, step = _image_files(folder, downscale)
    files = [img_dir / im.name for im in model.images]
    absent = [f.name for f in files if not f.is_file()]
    if absent:
        raise NeuralensError(f"{folder.name}: {len(absent)} image(s) of the model are not in {img_dir.name}/ "
                             f"(first: {absent[0]})")
    images = np.stack([read_rgba(f, step, 0.0)[0] for f in files])
    camera = Camera(cam.height, cam.width, fx, fy, cx, cy).resized(images.shape[1], images.shape[2])
    c2w = np.stack([im.c2w_opengl() for im in model.images])
    where = f"{folder.name}/{d.relative_to(folder) if d != folder else '.'}"
    fov = (camera.width / 2 / camera.fx, camera.height / 2 / camera.fy)
    bounds = depth_bounds(c2w, model.points, fov) if len(model.points) else None
    if forward_facing(c2w):
        if bounds is None:
            raise NeuralensError(f"{where}: a forward-facing capture needs points3D to bound its depth")
        return forward_facing_scene(c2w, bounds, images, camera, folder.name, where, LLFF_HOLDOUT)
    imgs, pz = validate(torch.from_numpy(images), torch.from_numpy(c2w), camera.fx, where)
    test = list(range(0, len(c2w), 10))
    train = [i for i in range(len(c2w)) if i not in set(test)] or [0]
    scene = Scene(imgs, pz, camera.fx, 2.0, 6.0, train, test, folder.name, fy=camera.fy, cx=camera.cx, cy=camera.cy)
    scene.canonicalize((float(bounds[:, 0].min()), float(bounds[:, 1].max())) if bounds is not None else None)
    return scene
