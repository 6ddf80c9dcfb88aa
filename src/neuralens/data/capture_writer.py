"""Write a capture the way users bring one: LLFF (``poses_bounds.npy`` + ``images/``) or a COLMAP text model
(``sparse/0/{cameras,images,points3D}.txt`` + ``images/``).

The readers are tested on files these writers make from one generated capture (the forward-facing room), so both
layouts must load into the same cameras and train alike; the benchmarks use them for captures of any size.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from neuralens.data.cameras import Camera
from neuralens.data.colmap import depth_bounds, quaternion_from_matrix
from neuralens.data.procedural_scene import render_room, room_points

LAYOUTS = ("llff", "colmap")


def save_images(folder: Path, images: np.ndarray) -> list[str]:
    """(N, H, W, 3) images in [0, 1] as 8-bit PNGs ``view_000.png`` ...; returns the file names in order."""
    folder.mkdir(parents=True, exist_ok=True)
    names = [f"view_{k:03d}.png" for k in range(len(images))]
    for name, im in zip(names, images):
        Image.fromarray((np.clip(im, 0, 1) * 255).round().astype(np.uint8)).save(folder / name)
    return names


def write_llff(folder: Path, images: np.ndarray, c2w: np.ndarray, camera: Camera, points: np.ndarray) -> None:
    """LLFF's ``poses_bounds.npy``: per view the 3x5 [down, right, back | centre | h, w, f] matrix and the depth
    bounds of the ``points`` it sees (LLFF's percentile rule). ``c2w`` (N, 4, 4) OpenGL camera-to-world."""
    save_images(folder / "images", images)
    bounds = depth_bounds(c2w, points, (camera.width / 2 / camera.fx, camera.height / 2 / camera.fy))
    rows = []
    for m, b in zip(c2w, bounds):
        right, up, back = m[:3, 0], m[:3, 1], m[:3, 2]
        mat = np.c_[-up, right, back, m[:3, 3], [camera.height, camera.width, camera.fx]]
        rows.append(np.r_[mat.ravel(), b])
    np.save(folder / "poses_bounds.npy", np.array(rows))


def write_colmap(folder: Path, images: np.ndarray, c2w: np.ndarray, camera: Camera, points: np.ndarray) -> None:
    """A COLMAP text model: one PINHOLE camera, world-to-camera poses in OpenCV axes (quaternion + translation),
    ``points`` as the sparse reconstruction."""
    names = save_images(folder / "images", images)
    model = folder / "sparse" / "0"
    model.mkdir(parents=True, exist_ok=True)
    (model / "cameras.txt").write_text(f"1 PINHOLE {camera.width} {camera.height} {camera.fx} {camera.fy} "
                                       f"{camera.cx} {camera.cy}\n")
    lines = []
    for k, (m, name) in enumerate(zip(c2w, names), start=1):
        cv = m @ np.diag([1.0, -1.0, -1.0, 1.0])  # OpenGL camera axes -> OpenCV's
        rot = cv[:3, :3].T
        t = -rot @ cv[:3, 3]
        lines += [f"{k} {' '.join(map(repr, quaternion_from_matrix(rot).tolist()))} "
                  f"{' '.join(map(repr, t.tolist()))} 1 {name}", ""]
    (model / "images.txt").write_text("\n".join(lines) + "\n")
    (model / "points3D.txt").write_text("".join(f"{i} {x!r} {y!r} {z!r} 128 128 128 0.5\n"
                                                for i, (x, y, z) in enumerate(points.tolist(), start=1)))


def write_room_capture(folder: Path, layout: str, size: int = 64, n_views: int = 40) -> Path:
    """The forward-facing procedural room (``builtin-ff``) written as an ``llff`` or ``colmap`` capture."""
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")
    images, poses, camera = render_room(size, n_views)
    writer = write_llff if layout == "llff" else write_colmap
    writer(folder, images.numpy(), poses.double().numpy(), camera, room_points().numpy())
    return folder
