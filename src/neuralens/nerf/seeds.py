"""``neuralens nerf compare --seeds``: the same comparison once per seed, each improvement judged over all of them.

One run's test PSNR moves by tenths of a dB from one score to the next (the baseline's fell 0.61 dB within 39
steps on lego, BENCHMARKS.md), so a single comparison resolves only differences above about half a dB. Repeating
it with other seeds (other initial weights, other ray batches) gives each improvement one paired gain per seed,
both runs scored on the test views after the same steps; the mean of those gains and its 95% interval say
whether the gain is the method's or the seed's.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from neuralens.core.errors import NeuralensError
from neuralens.core.io import read_json, write_json
from neuralens.core.plotting import plt, save_figure
from neuralens.core.stats import mean_interval
from neuralens.data.scene_spec import SceneChoice
from neuralens.data.scenes import Scene
from neuralens.nerf.budget import Budget, recorded_budget
from neuralens.nerf.compare import psnr_at, run_compare
from neuralens.nerf.viz import NOTEBOOK_AXIS, notebook_iterations

#: the figure of each improvement's probe-view gain over the baseline against training, one line per seed
GAIN_FIGURE = "gain_vs_iter.png"


def seed_folder_name(seed: int) -> str:
    """The subfolder holding seed ``seed``'s whole comparison (seeds.json's ``runs`` names them for readers)."""
    return f"seed_{seed}"


def over_seeds(summaries: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """Each improvement's paired gains over the baseline on the test views after the same steps, one per seed's
    compare.json, with their mean and 95% interval (:func:`~neuralens.core.stats.mean_interval`); a variant
    whose comparison lacks those scores in any seed gets None (its gains would not be paired)."""
    seeds = sorted(summaries)
    first = summaries[seeds[0]]
    base = first["baseline"]
    rows: dict[str, Any] = {}
    for v in first["variants"]:
        if v == base:
            continue
        pairs = [summaries[s]["variants"][v].get("test_views_at_equal_iterations") for s in seeds]
        if any(p is None for p in pairs):
            rows[v] = None
            continue
        gains = [p["gain_db"] for p in pairs]
        rows[v] = {"iterations": [p["iterations"] for p in pairs], "psnr": [p["psnr"] for p in pairs],
                   "baseline_psnr": [p["baseline_psnr"] for p in pairs], "gains_db": gains,
                   "ssim_gains": [p["ssim"] - p["baseline_ssim"] for p in pairs], "gain": mean_interval(gains)}
    return {"seeds": seeds, "baseline": base, "runs": {str(s): seed_folder_name(s) for s in seeds},
            "final_psnr": {v: [summaries[s]["variants"][v]["psnr"] for s in seeds] for v in first["variants"]},
            "others_cpu_share": {v: [summaries[s]["variants"][v].get("others_cpu_share") for s in seeds]
                                 for v in first["variants"]},
            "blank_psnr": first.get("blank_psnr"), "seconds_budget": first.get("seconds_budget"),
            "iters_budget": first.get("iters_budget"), "scene": first.get("scene"), "variants": rows}


def check_finished_seed(summary: dict[str, Any], budget: Budget, variants: list[str], scene: Scene,
                        where: Path) -> None:
    """A finished seed's compare.json may stand in for this run only if it ran the same comparison (budget, rays
    per step, variants, scene); else one clear error."""
    have = {"budget": recorded_budget(summary), "rays per step": summary.get("batch_rays"),
            "variants": ",".join(sorted(summary.get("variants", {}))), "scene": summary.get("scene")}
    want = {"budget": budget.describe(), "rays per step": budget.batch_rays, "variants": ",".join(sorted(variants)),
            "scene": scene.name}
    for key, value in have.items():
        if value != want[key]:
            raise NeuralensError(f"--resume: {where} compared {key} {value}, this run asks for {want[key]}; give "
                                 "the same flags or a new --out")


def probe_gains(history: list[dict[str, float]], baseline: list[dict[str, float]],
                 xs: np.ndarray) -> np.ndarray:
    """A variant's probe-view PSNR minus the baseline's after the same training (``xs``: images of rays)."""
    return np.array([psnr_at(history, x) - psnr_at(baseline, x) for x in xs])


def plot_gains(folder: Path, seeds: list[int], variants: list[str], baseline: str, points: int = 200) -> Path:
    """Each improvement's gain over the baseline on the probe view against training (images of rays), a thin
    line per seed and their mean thick, over the stretch every seed's pair of runs covers: where along the run an
    improvement pulls ahead, and whether it does so in every seed or in their mean only."""
    logs = {s: {v: read_json(folder / seed_folder_name(s) / v / "psnr_log.json")["history"]
                for v in [baseline, *variants]} for s in seeds}
    fig, axes = plt.subplots(1, len(variants), figsize=(5.2 * len(variants), 3.8), squeeze=False)
    for ax, v in zip(axes[0], variants):
        start = max(notebook_iterations(logs[s][name][0]) for s in seeds for name in (v, baseline))
        end = min(notebook_iterations(logs[s][name][-1]) for s in seeds for name in (v, baseline))
        if start > end:  # (some seed's pair of curves share no stretch)
            ax.set_title(f"{v} - {baseline}: no shared stretch of training", fontsize=10)
            continue
        xs = np.linspace(start, end, points)
        gains = np.stack([probe_gains(logs[s][v], logs[s][baseline], xs) for s in seeds])
        for s, g in zip(seeds, gains):
            ax.plot(xs, g, lw=0.8, alpha=0.6, label=f"seed {s}")
        ax.plot(xs, gains.mean(0), "k-", lw=2.2, label=f"mean of {len(seeds)}")
        ax.axhline(0.0, color="0.5", ls=":", lw=1)
        ax.set_title(f"{v} - {baseline}", fontsize=10)
        ax.set_xlabel(NOTEBOOK_AXIS, fontsize=8)
        ax.set_ylabel("probe-view PSNR gain (dB)")
        ax.legend(fontsize=7)
    return save_figure(fig, folder / GAIN_FIGURE)


def run_seeds(choice: SceneChoice, scene: Scene, budget: Budget, folder: Path, variants: list[str],
              seeds: tuple[int, ...], log: Any = print, resume: bool = False) -> dict[str, Any]:
    """Run the comparison once per seed (``folder``/seed_S, each complete on its own) and write seeds.json.
    With ``resume`` a seed whose compare.json exists is read, not run again (if it ran the same comparison), and an
    interrupted one continues."""
    finished = {s: folder / seed_folder_name(s) / "compare.json" for s in seeds} if resume else {}
    finished = {s: path for s, path in finished.items() if path.is_file()}
    for path in finished.values():  # all before any training: a mismatch found hours later would waste them
        check_finished_seed(read_json(path), budget, variants, scene, path.parent)
    summaries = {}
    for s in seeds:
        sub = folder / seed_folder_name(s)
        if s in finished:
            log(f"seed {s}: finished before, read from {sub}")
        else:
            log(f"seed {s}:")
            run_compare(choice, scene, replace(budget, seed=s), sub, variants, log=log, resume=resume)
        summaries[s] = read_json(sub / "compare.json")
    result = over_seeds(summaries)
    improvements = [v for v, row in result["variants"].items() if row is not None]
    if improvements:
        plot_gains(folder, list(seeds), improvements, result["baseline"])
    write_json(folder / "seeds.json", result)
    return result
