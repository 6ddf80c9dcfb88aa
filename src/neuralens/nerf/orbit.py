"""Novel views: a 360-degree orbit around the scene rendered from a trained model, as GIF and MP4."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from neuralens.core.errors import NeuralensError
from neuralens.core.progress import progress
from neuralens.data.cameras import Camera, orbit_poses
from neuralens.nerf.config import NerfConfig
from neuralens.nerf.model import NerfModel
from neuralens.nerf.viz import colorize_depth, write_video


def render_orbit(model: NerfModel, cfg: NerfConfig, info: dict[str, Any], out: Path, frames: int, fps: int,
                 size: int | None = None) -> list[Path]:
    """Render a 360-degree orbit; write orbit.gif, orbit.mp4 and depth.mp4 into ``out``."""
    if info.get("ndc_near") is not None:
        raise NeuralensError("a forward-facing (LLFF) capture has no 360-degree orbit; render its test views with "
                             "`neuralens nerf eval` instead")
    h, w, focal = info["height"], info["width"], info["focal"]
    camera = Camera(h, w, info.get("fx", focal), info.get("fy", focal), info.get("cx", w / 2), info.get("cy", h / 2))
    if size is not None:  # square frames of `size` pixels, the field of view of the training width
        camera = Camera.pinhole(size, size, camera.fx * size / w)
    poses = orbit_poses(frames, info.get("orbit_radius", 4.0), info.get("orbit_elevation", 30.0))
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
