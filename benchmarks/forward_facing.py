"""Issue 22: forward-facing captures with a full background, as users bring them (LLFF and COLMAP layouts).

    python benchmarks/forward_facing.py [--size 64] [--views 40] [--seconds 180] [--iters N] [--out runs/ff]

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

from neuralens.data.capture_writer import LAYOUTS, write_room_capture
from neuralens.data.scenes import load_scene
from neuralens.nerf.metrics import blank_psnr


def train(scene: Path | str, seconds: float, iters: int | None, out: Path) -> dict:
    budget = ["--seconds", str(seconds)] + (["--iters", str(iters)] if iters else [])
    subprocess.run([sys.executable, "-m", "neuralens.cli", "-q", "nerf", "train", "--scene", str(scene), *budget,
                    "--out", str(out)], check=True)
    return json.loads((out / "metrics.json").read_text())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--views", type=int, default=40)
    ap.add_argument("--seconds", type=float, default=180.0)
    ap.add_argument("--iters", type=int, default=None, help="also stop after this many iterations (equal-work "
                    "comparisons of the two layouts)")
    ap.add_argument("--out", default="runs/ff")
    args = ap.parse_args()
    out = Path(args.out)
    for layout in LAYOUTS:
        write_room_capture(out / layout, layout, args.size, args.views)
    scene = load_scene(str(out / "llff"))
    flat = blank_psnr(scene.images[scene.test_idx])["mean_colour"]
    print(f"room {scene.width}x{scene.height}, {args.views} views, test views {scene.test_idx}; flat image "
          f"{flat:.2f} dB")
    for layout in LAYOUTS:
        m = train(out / layout, args.seconds, args.iters, out / f"run_{layout}")
        print(f"{layout}: {m['psnr']['mean']:.2f} dB held out, {m['iterations']} iterations in {m['seconds']:.0f} s "
              f"({m['iterations_per_s']:.2f} it/s)")


if __name__ == "__main__":
    main()
