"""Real captures: nerfstudio / instant-ngp ``transforms.json`` (COLMAP poses, OpenGL camera convention).

Intrinsics come from the file, globally or per frame: ``fl_x``, ``fl_y``, ``cx``, ``cy``, ``w``, ``h`` (or
``camera_angle_x``/``camera_angle_y``); images may be non-square with the principal point off centre. One file
holds every view: every 10th is held out for testing. The scene is moved into the canonical frame
(:mod:`neuralens.data.geometry`), with near/far estimated from the cameras.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import torch

from neuralens.core.errors import NeuralensError
from neuralens.data.cameras import Camera
from neuralens.data.scene_base import Scene, frame_poses, read_json_object, read_rgba, validate

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
        rgb = read_rgba(img_path, downscale, 1.0 if white_background else 0.0)
        images.append(rgb)
        poses.append(pose)
        cameras.append(_intrinsics(meta, frame, rgb.shape[1], rgb.shape[0], f"{path.name}: frame {k}"))
    if len({im.shape for im in images}) > 1 or len(set(cameras)) > 1:
        raise NeuralensError(f"{path.name}: frames differ in image size or intrinsics; neuralens trains one camera")
    cam = cameras[0]
    imgs, pz = validate(torch.from_numpy(np.stack(images)), torch.from_numpy(np.stack(poses)), cam.fx, path.name)
    n = len(images)
    test = list(range(0, n, 10)) if n > 1 else [0]
    train = [i for i in range(n) if i not in set(test)] or [0]
    scene = Scene(imgs, pz, cam.fx, 2.0, 6.0, train, test, path.parent.name or path.stem, fy=cam.fy, cx=cam.cx,
                  cy=cam.cy)
    return scene.canonicalize()
