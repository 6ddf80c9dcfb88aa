"""Issue 22: the classic improvements against the faithful baseline at equal iterations, over several seeds.

    python benchmarks/nerf_mlp_variants.py [--scene ../shared/data/nerf/lego_100.npz] [--iters 100]
        [--seeds 0,1,2] [--downscale 1] [--test-views 0,50] [--out runs/mlp]

Trains ``tiny`` (the notebook's ReLU density), ``tiny_hier`` and ``tiny_viewdirs`` (a softplus density and a
widened sigmoid colour) for the same number
of iterations with ``nerf train --iters N`` (iterations, not seconds: the comparison NeRF's paper makes, and one
that does not depend on how busy the CPU is), once per seed. Prints each run's held-out PSNR, each improvement
against the baseline of the same seed at equal iterations (probes ahead, mean gain), whether a run ever fell back
to black after rising above it or ended black (one that died in its first steps never rose), and the black image's
PSNR; writes ``summary.json`` and
``curves.png`` (probe PSNR against iterations: mean over seeds, each seed thin). Runs already finished in OUT are
read, not retrained, so several processes may share one OUT with different ``--seeds`` and a last call
summarises them all.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

from neuralens.core.plotting import plt, save_figure
from neuralens.data.scene_spec import SceneChoice
from neuralens.data.scenes import load_choice
from neuralens.nerf.compare import at_equal_iterations
from neuralens.nerf.metrics import blank_psnr
from neuralens.nerf.variants import BASELINE

VARIANTS = (BASELINE, "tiny_hier", "tiny_viewdirs")
#: a probe counts as "above black" by this margin (the report's learned-line is 1.5 dB over the better blank)
ALIVE_DB = 0.5


def _train(args: argparse.Namespace, variant: str, seed: int, run: Path) -> None:
    if (run / "metrics.json").is_file():
        return
    cmd = [sys.executable, "-m", "neuralens.cli", "-q", "nerf", "train", "--scene", args.scene, "--model", variant,
           "--iters", str(args.iters), "--seed", str(seed), "--downscale", str(args.downscale), "--out", str(run)]
    if args.test_views:
        cmd += ["--test-views", args.test_views]
    subprocess.run(cmd, check=True)


def fell_back(history: list[dict[str, float]], black: float) -> bool:
    """True if the probe rose ALIVE_DB above black and later came back within it (a collapse to black)."""
    risen = False
    for h in history:
        above = h["psnr"] > black + ALIVE_DB
        if risen and not above:
            return True
        risen = risen or above
    return False


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scene", default="../shared/data/nerf/lego_100.npz")
    ap.add_argument("--iters", type=int, default=100)
    ap.add_argument("--out", default="runs/mlp")
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--seeds", default="0")
    ap.add_argument("--downscale", type=int, default=1)
    ap.add_argument("--test-views", default=None)
    ap.add_argument("--only-train", action="store_true", help="train the missing runs, print nothing")
    args = ap.parse_args()
    out, variants = Path(args.out), args.variants.split(",")
    seeds = [int(s) for s in args.seeds.split(",")]
    for seed in seeds:
        for v in variants:
            _train(args, v, seed, out / f"seed{seed}" / v)
    if args.only_train:
        return
    scene = load_choice(SceneChoice(args.scene, test_views=args.test_views, downscale=args.downscale))
    blank = blank_psnr(scene.images[scene.test_idx])
    runs: dict[str, dict[int, dict[str, Any]]] = {v: {} for v in variants}
    probe_black, rays = 0.0, 0
    for seed in seeds:
        for v in variants:
            run = out / f"seed{seed}" / v
            m = json.loads((run / "metrics.json").read_text())
            log = json.loads((run / "psnr_log.json").read_text())
            probe_black = blank_psnr(scene.images[log["probe_view"]][None])["black"]
            rays = m["rays_per_step"]
            runs[v][seed] = {"psnr": m["psnr"]["mean"], "seconds": m["seconds"], "history": log["history"]}
    summary: dict[str, Any] = {"iters": args.iters, "seeds": seeds, "rays_per_step": rays, "black": blank["black"],
                               "mean_colour": blank["mean_colour"], "probe_black": probe_black, "variants": {}}
    for v in variants:
        psnrs = [runs[v][s]["psnr"] for s in seeds]
        row: dict[str, Any] = {"psnr": psnrs, "psnr_mean": statistics.fmean(psnrs),
                               "fell_back_to_black": [fell_back(runs[v][s]["history"], probe_black) for s in seeds]}
        if v != BASELINE and BASELINE in runs:
            row["at_equal_iterations"] = [at_equal_iterations(runs[v][s]["history"], runs[BASELINE][s]["history"])
                                          for s in seeds]
            row["gain_over_baseline_db"] = [runs[v][s]["psnr"] - runs[BASELINE][s]["psnr"] for s in seeds]
        summary["variants"][v] = row
        line = f"{v}: " + ", ".join(f"seed {s} {p:.2f}" for s, p in zip(seeds, psnrs))
        line += (f" dB (mean {row['psnr_mean']:.2f}) on {len(scene.test_idx)} held-out views after {args.iters} "
                 "iterations")
        if any(row["fell_back_to_black"]):
            line += "; FELL BACK TO BLACK with seed " + ",".join(
                str(s) for s, f in zip(seeds, row["fell_back_to_black"]) if f)
        row["black_at_end"] = [runs[v][s]["history"][-1]["psnr"] <= probe_black + ALIVE_DB for s in seeds]
        if any(row["black_at_end"]):  # dead from its first probes on: it never rose, so it never fell back
            line += "; BLACK AT THE END with seed " + ",".join(
                str(s) for s, b in zip(seeds, row["black_at_end"]) if b)
        print(line)
        for s, eq, gain in zip(seeds, row.get("at_equal_iterations", []), row.get("gain_over_baseline_db", [])):
            if eq:
                print(f"  seed {s}: {gain:+.2f} dB on the test views; probe ahead of tiny at {eq['ahead']} of "
                      f"{eq['probes']} probes, mean {eq['mean_gain_db']:+.2f} dB, {eq['gain_db']:+.2f} dB at the end")
    print(f"black image {blank['black']:.2f} dB, mean-colour image {blank['mean_colour']:.2f} dB on the same views; "
          f"black on the probe view {probe_black:.2f} dB")
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for v in variants:
        hists = [runs[v][s]["history"] for s in seeds]
        n = min(len(h) for h in hists)
        its = [hists[0][i]["iteration"] for i in range(n)]
        vals = [[h[i]["psnr"] for h in hists] for i in range(n)]
        line = ax.plot(its, [statistics.fmean(x) for x in vals], "-o", ms=3, label=f"{v} (mean of {len(seeds)})")
        for h in hists:  # each seed, thin: a mean can hide one dead run
            ax.plot(its, [x["psnr"] for x in h[:n]], "-", lw=0.7, alpha=0.5, color=line[0].get_color())
    ax.axhline(probe_black, color="0.5", ls=":", lw=1, label="black image")
    ax.set_xlabel(f"iterations ({rays} rays each)")
    ax.set_ylabel("PSNR on a held-out view (dB)")
    ax.legend(fontsize=8)
    print(save_figure(fig, out / "curves.png"))


if __name__ == "__main__":
    main()
