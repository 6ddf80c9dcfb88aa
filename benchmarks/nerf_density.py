"""Issue 44: one way to keep an MLP NeRF field alive. A density activation that cannot die (mip-NeRF's shifted
softplus) against the three guards of a ReLU density it replaced (density bias 0.1, a learning-rate warm-up,
steps that render nothing retaken with noise), at equal iterations. (nerfstudio's shifted truncated exp was
measured as an arm at commit 0b39450 and dropped.)

    python benchmarks/nerf_density.py [--scene ../shared/data/nerf/lego_100.npz] [--variants tiny_hier,tiny_viewdirs]
        [--seeds 0,1,2] [--iters 500] [--test-views 0,50] [--threads 1] [--arms softplus]
        [--out runs/density]

Each arm is the recipe as registered with that density activation; the arm ``guards`` is the recipe as
registered at commit 0e08d3c (run this file from that commit for it: its runs there are what BENCHMARKS.md
compares against). Both keep the widened sigmoid colour. Each run trains in this process (``train_nerf``) and
writes its usual folder under OUT/ARM/seedS/VARIANT; finished runs are read, not retrained. Prints each run's
held-out PSNR and whether it ended black, and per variant each arm's difference from the first arm per seed.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path
from typing import Any

import torch

from neuralens.data.scene_spec import SceneChoice
from neuralens.data.scenes import load_choice
from neuralens.nerf.metrics import blank_psnr
from neuralens.nerf.trainer import train_nerf
from neuralens.nerf.variants import make_config

#: "guards" is the recipe as registered at commit 0e08d3c (a ReLU density with its three guards); every other arm
#: is a density activation of mlp_field.DENSITY_ACTIVATIONS put into the recipe as registered now
ARMS = ("softplus",)
#: a run "ended black" when its last probe is within this of the black image on the probe view
ALIVE_DB = 0.5


def arm_config(arm: str, variant: str, seed: int, iters: int) -> Any:
    """The variant's recipe as registered ("guards") or with the density activation ``arm``."""
    cfg = make_config(variant, iters=iters, seed=seed)
    if arm != "guards":
        cfg.field_kwargs = {**cfg.field_kwargs, "density": arm}
    return cfg


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scene", default="../shared/data/nerf/lego_100.npz")
    ap.add_argument("--variants", default="tiny_hier,tiny_viewdirs")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--iters", type=int, default=500)
    ap.add_argument("--test-views", default=None)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--arms", default=",".join(ARMS))
    ap.add_argument("--out", default="runs/density")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    scene = load_choice(SceneChoice(args.scene, test_views=args.test_views))
    out, variants, arms = Path(args.out), args.variants.split(","), args.arms.split(",")
    seeds = [int(s) for s in args.seeds.split(",")]
    runs: dict[tuple[str, str, int], dict[str, Any]] = {}
    for seed in seeds:
        for v in variants:
            for arm in arms:
                run = out / arm / f"seed{seed}" / v
                if not (run / "metrics.json").is_file():
                    train_nerf(arm_config(arm, v, seed, args.iters), scene, run, progress=False,
                               log=lambda *a: None)
                m = json.loads((run / "metrics.json").read_text())
                log = json.loads((run / "psnr_log.json").read_text())
                black = blank_psnr(scene.images[log["probe_view"]][None])["black"]
                runs[arm, v, seed] = {"psnr": m["psnr"]["mean"], "seconds": m["seconds"],
                                      "black_at_end": log["history"][-1]["psnr"] <= black + ALIVE_DB}
                r = runs[arm, v, seed]
                print(f"{arm:9s} {v:14s} seed {seed}: {r['psnr']:.2f} dB after {args.iters} iterations "
                      f"({r['seconds']:.0f} s){'; BLACK AT THE END' if r['black_at_end'] else ''}", flush=True)
    blank = blank_psnr(scene.images[scene.test_idx])
    summary: dict[str, Any] = {"iters": args.iters, "seeds": seeds, "black": blank["black"], "variants": {}}
    for v in variants:
        row = {arm: [runs[arm, v, s]["psnr"] for s in seeds] for arm in arms}
        for arm in arms[1:]:
            diffs = [runs[arm, v, s]["psnr"] - runs[arms[0], v, s]["psnr"] for s in seeds]
            row[f"{arm}_minus_{arms[0]}"] = diffs
            print(f"{v}: {arm} - {arms[0]} per seed " + ", ".join(f"{d:+.2f}" for d in diffs) + f" dB (mean "
                  f"{statistics.fmean(diffs):+.2f}, min {min(diffs):+.2f}, max {max(diffs):+.2f})")
        summary["variants"][v] = {**row, "runs": {f"{a}/seed{s}": runs[a, v, s] for a in arms for s in seeds}}
    print(f"black image {blank['black']:.2f} dB on the same views")
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").write_text(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
