"""Novel views rendered from a trained model, as GIF and MP4: a 360-degree orbit around the scene, or for a
forward-facing capture the NeRF paper's spiral in front of it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from neuralens.core.progress import progress
from neuralens.data.cameras import Camera, orbit_poses, spiral_poses
from neuralens.nerf.config import NerfConfig
from neuralens.nerf.model import NerfModel
from neuralens.nerf.viz import colorize_depth, write_video


def render_orbit(model: NerfModel, cfg: NerfConfig, info: dict[str, Any], out: Path, frames: int, fps: int,
                 size: int | None = None) -> list[Path]:
    """Render the scene's video path (see the module docstring); write orbit.gif, orbit.mp4 and depth.mp4 into
    ``out``."""
    h, w = info["height"], info["width"]
    camera = Camera(h, w, info["fx"], info["fy"], info["cx"], info["cy"], info["ndc_near"])
    if size is not None:  # square frames of `size` pixels, the field of view of the training width
        camera = Camera(size, size, camera.fx * size / w, camera.fy * size / w, size / 2, size / 2, camera.ndc_near)
    if camera.ndc_near is None:
        poses = orbit_poses(frames, info["orbit_radius"], info["orbit_elevation"])
    else:
        poses = spiral_poses(frames, tuple(info["spiral_radii"]), info["focus"])
    rgb, depth = [], []
    model.train(False)
    for pose in progress(poses, "orbit", unit="frame"):
        r = model.render_image(camera, pose, cfg)
        rgb.append(r["rgb"].clamp(0, 1).numpy())
        depth.append(colorize_depth(r["depth"] + (1 - r["opacity"]) * cfg.render.far, cfg.render.near,
                                    cfg.render.far))
    rgb_a, depth_a = np.stack(rgb), np.stack(depth)
    return [write_video(rgb_a, out / "orbit.gif", fps), write_video(rgb_a, out / "orbit.mp4", fps),
            write_video(depth_a, out / "depth.mp4", fps)]
