"""What each part of the ``fast`` recipe is worth: train it with one part taken away, same scene, same budget.

    python benchmarks/nerf_ablation.py --scene SCENE [--test-views 4,13,...] [--seconds 180] [--seed 0]
        [--white-bg] --ablate none,no_c2f,no_mask --out runs/ablation

Ablations: ``none`` (the recipe as shipped), ``no_c2f`` (the grids at 128 cells from the start, no coarse-to-fine),
``no_mask`` (colour looked up for every kept sample), ``no_c2f_no_mask`` (both). Prints one line per run and
writes ``ablation.json`` in ``--out``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from neuralens.data.scenes import load_scene
from neuralens.nerf.config import NerfConfig
from neuralens.nerf.trainer import train_nerf
from neuralens.nerf.variants import make_config


def ablated(name: str, seconds: float, seed: int) -> NerfConfig:
    cfg = make_config("fast", seconds=seconds, seed=seed)
    if "no_c2f" in name:
        cfg.upsample = []
        cfg.field_kwargs["resolution"] = 128
    if "no_mask" in name:
        cfg.render.weight_threshold = 0.0
    return cfg


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--scene", required=True)
    p.add_argument("--test-views", default=None)
    p.add_argument("--white-bg", action="store_true")
    p.add_argument("--seconds", type=float, default=180.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--ablate", default="none,no_c2f")
    p.add_argument("--out", default="runs/ablation")
    args = p.parse_args()
    out = Path(args.out)
    rows = {}
    for name in args.ablate.split(","):
        scene = load_scene(args.scene, None, args.test_views, args.white_bg)
        res = train_nerf(ablated(name, args.seconds, args.seed), scene, out / name, log=lambda m: None,
                         progress=False)
        rows[name] = {"psnr": res["psnr"]["mean"], "ssim": res["ssim"]["mean"], "iterations": res["iterations"]}
        print(f"{name:16s} {rows[name]['psnr']:6.2f} dB  SSIM {rows[name]['ssim']:.3f}  {res['iterations']} it")
    (out / "ablation.json").write_text(json.dumps({"scene": args.scene, "seconds": args.seconds,
                                                   "seed": args.seed, "runs": rows}, indent=1))


if __name__ == "__main__":
    main()
