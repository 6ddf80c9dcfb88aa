"""Issue 22: the classic improvements against the faithful baseline at equal iterations.

    python benchmarks/nerf_mlp_variants.py [--scene ../shared/data/nerf/lego_100.npz] [--iters 100] [--out runs/mlp]

Trains ``tiny`` (the notebook's ReLU density), ``tiny_hier`` and ``tiny_viewdirs`` (their ReLU density starts
with bias 0.1) for the same number of iterations with ``neuralens nerf train --iters N`` (iterations, not seconds: the
comparison NeRF's paper makes, and one that does not depend on how busy the CPU is), then prints each held-out PSNR
and the probe curve, the black image's PSNR on the same views and on the probe view, and writes ``curves.png``
(PSNR against iterations).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from neuralens.core.plotting import plt, save_figure
from neuralens.data.scenes import load_scene
from neuralens.nerf.metrics import blank_psnr

VARIANTS = ("tiny", "tiny_hier", "tiny_viewdirs")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scene", default="../shared/data/nerf/lego_100.npz")
    ap.add_argument("--iters", type=int, default=100)
    ap.add_argument("--out", default="runs/mlp")
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    out = Path(args.out)
    scene = load_scene(args.scene)
    blank = blank_psnr(scene.images[scene.test_idx])
    curves, probe_black = {}, 0.0
    for v in args.variants.split(","):
        run = out / v
        if not (run / "metrics.json").is_file():
            subprocess.run([sys.executable, "-m", "neuralens.cli", "-q", "nerf", "train", "--scene", args.scene,
                            "--model", v, "--iters", str(args.iters), "--seed", str(args.seed), "--out", str(run)],
                           check=True)
        m = json.loads((run / "metrics.json").read_text())
        log = json.loads((run / "psnr_log.json").read_text())
        curves[v] = log["history"]
        probe_black = blank_psnr(scene.images[log["probe_view"]][None])["black"]
        rays = m["rays_per_step"]
        probe = ", ".join(f"{h['iteration']}: {h['psnr']:.2f}" for h in curves[v])
        print(f"{v}: {m['psnr']['mean']:.2f} dB on {len(m['test_views'])} held-out views after {m['iterations']} "
              f"iterations ({m['seconds']:.0f} s); probe view by iteration: {probe}")
    print(f"black image {blank['black']:.2f} dB, mean-colour image {blank['mean_colour']:.2f} dB on the same views; "
          f"black on the probe view {probe_black:.2f} dB")
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for v, hist in curves.items():
        ax.plot([h["iteration"] for h in hist], [h["psnr"] for h in hist], "-o", ms=3, label=v)
    ax.axhline(probe_black, color="0.5", ls=":", lw=1, label="black image")
    ax.set_xlabel(f"iterations ({rays} rays each)")
    ax.set_ylabel("PSNR on a held-out view (dB)")
    ax.legend(fontsize=8)
    print(save_figure(fig, out / "curves.png"))


if __name__ == "__main__":
    main()
