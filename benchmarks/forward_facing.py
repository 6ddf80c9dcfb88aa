"""Issue 22: forward-facing captures with a full background, as users bring them (LLFF and COLMAP layouts).

    python benchmarks/forward_facing.py [--size 64] [--views 40] [--seconds 180] [--out runs/ff]

Renders the procedural room (``builtin-ff``: a textured back wall and floor, objects between; every ray hits
something), writes it as an LLFF capture (``poses_bounds.npy`` + ``images/``) and as a COLMAP text model
(``sparse/0`` + ``images/``, 3-D points on the room's surfaces), then trains the default model on each with
``neuralens nerf train --scene DIR --seconds S`` and prints the held-out PSNR beside the flat-image baseline (each
test view's mean colour everywhere). The two layouts load into the same scene, so they should train alike.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from neuralens.data.cameras import Camera
from neuralens.data.colmap import depth_bounds, quaternion_from_matrix
from neuralens.data.procedural_scene import render_room, room_points
from neuralens.data.scenes import load_scene
from neuralens.nerf.metrics import blank_psnr


def save_images(folder: Path, images: np.ndarray) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    names = [f"view_{k:03d}.png" for k in range(len(images))]
    for name, im in zip(names, images):
        Image.fromarray((im * 255).round().astype(np.uint8)).save(folder / name)
    return names


def write_llff(folder: Path, images: np.ndarray, c2w: np.ndarray, camera: Camera, points: np.ndarray) -> None:
    save_images(folder / "images", images)
    fov = (camera.width / 2 / camera.fx, camera.height / 2 / camera.fy)
    bounds = depth_bounds(c2w, points, fov)
    rows = []
    for m, b in zip(c2w, bounds):
        right, up, back = m[:3, 0], m[:3, 1], m[:3, 2]
        mat = np.c_[-up, right, back, m[:3, 3], [camera.height, camera.width, camera.fx]]
        rows.append(np.r_[mat.ravel(), b])
    np.save(folder / "poses_bounds.npy", np.array(rows))


def write_colmap(folder: Path, images: np.ndarray, c2w: np.ndarray, camera: Camera, points: np.ndarray) -> None:
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
        lines += [f"{k} {' '.join(map(str, quaternion_from_matrix(rot)))} {' '.join(map(str, t))} 1 {name}", ""]
    (model / "images.txt").write_text("\n".join(lines) + "\n")
    (model / "points3D.txt").write_text("".join(f"{i} {x} {y} {z} 128 128 128 0.5\n"
                                                for i, (x, y, z) in enumerate(points, start=1)))


def train(scene: Path | str, seconds: float, out: Path) -> dict:
    subprocess.run([sys.executable, "-m", "neuralens.cli", "-q", "nerf", "train", "--scene", str(scene), "--seconds",
                    str(seconds), "--out", str(out)], check=True)
    return json.loads((out / "metrics.json").read_text())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--views", type=int, default=40)
    ap.add_argument("--seconds", type=float, default=180.0)
    ap.add_argument("--out", default="runs/ff")
    args = ap.parse_args()
    out = Path(args.out)
    imgs, poses, camera = render_room(args.size, args.views)
    images, c2w = imgs.numpy(), poses.double().numpy()
    points = room_points().numpy()
    write_llff(out / "llff", images, c2w, camera, points)
    write_colmap(out / "colmap", images, c2w, camera, points)
    scene = load_scene(str(out / "llff"))
    flat = blank_psnr(scene.images[scene.test_idx])["mean_colour"]
    print(f"room {args.size}x{images.shape[1]}, {args.views} views, test views {scene.test_idx}; flat image "
          f"{flat:.2f} dB")
    for layout in ("llff", "colmap"):
        m = train(out / layout, args.seconds, out / f"run_{layout}")
        print(f"{layout}: {m['psnr']['mean']:.2f} dB held out, {m['iterations']} iterations in {m['seconds']:.0f} s "
              f"({m['iterations_per_s']:.2f} it/s)")


if __name__ == "__main__":
    main()
