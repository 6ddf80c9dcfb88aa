"""``neuralens nerf compare``: every variant trained for the same budget on the same views: the same wall-clock
time (what a variant buys on this machine), or the same number of steps (NeRF's own claim, "better at equal
iterations", which does not depend on how fast or how busy the machine is).

Each variant trains in its own process (``neuralens nerf train``), so its time and peak memory are its own.
The comparison reads only what those runs wrote: metrics.json, psnr_log.json and renders.npz.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch

from neuralens.core.errors import INTERRUPTED_EXIT, NeuralensError
from neuralens.core.io import read_json, save_npz, write_json
from neuralens.core.plotting import plt, save_figure
from neuralens.core.progress import is_quiet
from neuralens.core.runtime import die_with_parent
from neuralens.data.scene_spec import SceneChoice
from neuralens.data.scenes import Scene
from neuralens.nerf.budget import Budget
from neuralens.nerf.metrics import blank_psnr, psnr
from neuralens.nerf.model import load_nerf
from neuralens.nerf.trainer import evaluate_views, fit_to_scene, mean_scores, probe_view, train_nerf
from neuralens.nerf.variants import BASELINE, make_config
from neuralens.nerf.viz import NOTEBOOK_AXIS, notebook_iterations


def train_variant(variant: str, choice: SceneChoice, budget: Budget, out: Path, log: Any = print,
                  resume: bool = False, score_at: tuple[int, ...] = ()) -> dict[str, Any]:
    """Run ``neuralens nerf train`` for one variant in a child process (its time and memory its own); return its
    metrics. With ``resume``, a variant that left a checkpoint continues from it (a finished one is only scored
    again). ``score_at``: iterations after which the test views are scored too. The child's progress bar shows
    unless output is quiet; on Ctrl-C the child saves its checkpoint before this process stops."""
    resumed = resume and (out / "checkpoint.pt").is_file()
    quiet = is_quiet()
    cmd = [sys.executable, "-m", "neuralens.cli", *(["-q"] if quiet else []), "nerf", "train", "--model", variant,
           *budget.argv(score_at), "--out", str(out), *choice.argv(), *(["--resume"] if resumed else [])]
    log(f"  {variant}: {'resuming' if resumed else 'training'} for {budget.describe()}")
    # quiet: keep the child's stderr for its one-line error; else it goes straight to the terminal (progress)
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE if quiet else None, text=True,
                            preexec_fn=die_with_parent)
    try:
        _, err = proc.communicate()
    except KeyboardInterrupt:
        proc.wait()  # the child got the same Ctrl-C: it finishes its step and writes a resumable checkpoint
        _interrupted(variant, out, log)
        raise
    if proc.returncode == INTERRUPTED_EXIT:
        # the child was interrupted and this process was not: a SIGINT sent to the child alone, or to a group in
        # which this process ignores it (started with `&` from a script); the comparison stops the same way
        _interrupted(variant, out, log)
        raise KeyboardInterrupt
    if proc.returncode != 0:
        last = (err or "").strip().splitlines()[-1:] or ["see its error above"]
        raise NeuralensError(f"training variant {variant!r} failed: {last[0]}")
    return read_json(out / "metrics.json")


def _interrupted(variant: str, out: Path, log: Any) -> None:
    """Say where an interrupted variant left its checkpoint and how the comparison continues."""
    saved = (out / "checkpoint.pt").is_file()  # not when stopped before its first step
    log(f"interrupted: {variant}'s checkpoint is in {out}; continue the comparison with --resume" if saved else
        f"interrupted before {variant} saved a checkpoint; --resume trains it from the start")


def time_to_reach(history: list[dict[str, float]], target: float) -> float | None:
    """First logged training time at which the probe-view PSNR reached ``target``."""
    for h in history:
        if h["psnr"] >= target:
            return h["seconds"]
    return None


def psnr_at(history: list[dict[str, float]], images: float) -> float | None:
    """The probe-view PSNR curve read at ``images`` of rays trained (linear between probes; None outside)."""
    xs = [notebook_iterations(h) for h in history]
    if not xs or images < xs[0] or images > xs[-1]:
        return None
    return float(np.interp(images, xs, [h["psnr"] for h in history]))


def scores_at_equal_iterations(mine: dict[str, Any], base: dict[str, Any]) -> dict[str, Any] | None:
    """A variant's test-view scores against the baseline's after as many steps (two runs' metrics.json): the
    baseline's final scores when both trained as long, else its ``scored_at`` entry for the variant's count (see
    run_compare); None when the baseline was not scored there."""
    n, ours = mine["iterations"], mean_scores(mine)
    theirs = mean_scores(base) if base["iterations"] == n else base.get("scored_at", {}).get(str(n))
    if theirs is None:
        return None
    return {"iterations": n, **ours, "baseline_psnr": theirs["psnr"], "baseline_ssim": theirs["ssim"],
            "gain_db": ours["psnr"] - theirs["psnr"]}


def summarize(folder: Path, variants: list[str]) -> dict[str, Any]:
    """The comparison table from the variants' run folders."""
    rows, precision = {}, {}
    logs = {v: read_json(folder / v / "psnr_log.json")["history"] for v in variants}
    base_final = logs[BASELINE][-1]["psnr"] if logs.get(BASELINE) else None
    base_metrics = read_json(folder / BASELINE / "metrics.json") if BASELINE in variants else None
    for v in variants:
        m = read_json(folder / v / "metrics.json")
        compared = base_metrics is not None and v != BASELINE
        precision[v] = m.get("precision")
        reach = time_to_reach(logs[v], base_final) if base_final is not None else None
        rows[v] = {"psnr": m["psnr"]["mean"], "ssim": m["ssim"]["mean"], "seconds": m["seconds"],
                   "iterations": m["iterations"], "iterations_per_s": m["iterations_per_s"],
                   "images_of_rays": notebook_iterations(logs[v][-1]) if logs[v] else 0.0,
                   "peak_rss_mb": m.get("peak_rss_mb"), "time_to_baseline_final_psnr_s": reach,
                   "speedup_to_baseline_psnr": (logs[BASELINE][-1]["seconds"] / reach) if reach and compared else None,
                   "test_views_at_equal_iterations": (scores_at_equal_iterations(m, base_metrics)
                                                      if compared else None),
                   "others_cpu_share": m.get("others_cpu_share")}
    best = max(rows, key=lambda v: rows[v]["psnr"])
    return {"variants": rows, "baseline": BASELINE if BASELINE in rows else None, "best": best,
            "baseline_final_probe_psnr": base_final, "baseline_test_fall_db": fall_in_test_psnr(base_metrics),
            "precision": precision, "logs": logs}


def fall_in_test_psnr(metrics: dict[str, Any] | None) -> float | None:
    """How far a run's test PSNR fell from its best score on the way (``scored_at``) to its final one: training
    only improves on average, so a fall is noise, and a difference between two runs smaller than it says
    nothing. None without scores on the way."""
    scored = [s["psnr"] for s in (metrics or {}).get("scored_at", {}).values()]
    return max(0.0, max(scored) - metrics["psnr"]["mean"]) if metrics and scored else None


def plot_curves(summary: dict[str, Any], folder: Path, log_iterations: bool = True) -> list[Path]:
    """PSNR on the probe view against time and against images of rays. A time budget gives variants iteration
    counts ten times apart (``log_iterations``: a log axis); an iteration budget gives all the same stretch, and
    NeRF's improvements separate late in it, which a linear axis shows."""
    paths = []
    for x_of, xlabel, name in ((lambda h: h["seconds"], "training time (s)", "psnr_vs_time.png"),
                               (notebook_iterations, NOTEBOOK_AXIS, "psnr_vs_iter.png")):
        fig, ax = plt.subplots(figsize=(7, 4.2))
        for v, hist in summary["logs"].items():
            ax.plot([x_of(h) for h in hist], [h["psnr"] for h in hist], "-", marker="o", ms=2.5, label=v,
                    lw=2.5 if v == summary["best"] else 1.2)
        if summary["baseline_final_probe_psnr"] is not None:
            ax.axhline(summary["baseline_final_probe_psnr"], color="0.5", ls=":", lw=1,
                       label="baseline's final PSNR")
        if name == "psnr_vs_iter.png" and log_iterations:
            ax.set_xscale("log")
            ax.xaxis.set_minor_formatter(plt.NullFormatter())  # decade labels only: minor ones overlap
        ax.set_xlabel(xlabel)
        ax.set_ylabel("PSNR on a held-out view (dB)")
        ax.legend(fontsize=8)
        paths.append(save_figure(fig, folder / name))
    return paths


def plot_side_by_side(folder: Path, variants: list[str], target: torch.Tensor, view_pos: int = 0) -> Path:
    """Ground truth, then each variant's render of one held-out view (``view_pos`` in the renders' order) with its
    error map underneath."""
    n = len(variants) + 1
    fig, axes = plt.subplots(2, n, figsize=(2.6 * n, 5.4), squeeze=False)
    axes[0, 0].imshow(target.numpy())
    axes[0, 0].set_title("ground truth", fontsize=9)
    axes[1, 0].axis("off")
    for k, v in enumerate(variants, start=1):
        with np.load(folder / v / "renders.npz") as f:
            img = torch.from_numpy(f["images"][view_pos])
        err = (img - target).abs().mean(-1)
        p = psnr(img, target)
        axes[0, k].imshow(img.numpy())
        axes[0, k].set_title(f"{v}\n{p:.2f} dB", fontsize=9)
        axes[1, k].imshow(err.numpy(), cmap="magma", vmin=0, vmax=0.3)
        axes[1, k].set_title("|error|", fontsize=9)
    for ax in axes.flat:
        ax.axis("off")
    return save_figure(fig, folder / "side_by_side.png")


def train_here(variant: str, scene: Scene, budget: Budget, out: Path, log: Any = print,
               score_at: tuple[int, ...] = ()) -> dict[str, Any]:
    """Train one variant in this process (typed settings, no child process): quicker to start, but its peak
    memory is this process's, not its own."""
    log(f"  {variant}: training for {budget.describe()}")
    cfg = make_config(variant, forward_facing=scene.ndc_near is not None, **budget.overrides(score_at))
    res = train_nerf(cfg, scene, out, log=log)
    save_npz(out / "renders.npz", images=res["renders"].numpy().astype(np.float32), indices=np.array(scene.test_idx))
    metrics = read_json(out / "metrics.json")
    metrics["peak_rss_mb"] = None  # the process's peak, shared with every variant trained before: not this one's
    write_json(out / "metrics.json", metrics)
    return metrics


#: the baseline's field is rendered again with this many times its samples per ray (see sampling_headroom)
HEADROOM_FACTOR = 2


def sampling_headroom(folder: Path, scene: Scene, variants: list[str]) -> dict[str, Any] | None:
    """The baseline's own trained field rendered on the test views with its samples and with HEADROOM_FACTOR x as
    many: the most that better-placed samples could add to its render at this budget. Hierarchical sampling's
    claim is a better quadrature; when doubling the samples moves nothing, the field, not the sampling, limits
    the render (lego after 2000 steps: +0.07 dB, BENCHMARKS.md). Measured only when a variant with a second
    sampling pass is compared (two renders of the test views: it costs time). The render at the trained count
    repeats the trainer's own on purpose: the gain is then a difference of two renders by one code path and one
    config, which a drift between the child's and this process's settings cannot fake."""
    if BASELINE not in variants or not any(make_config(v).render.n_importance > 0 for v in variants):
        return None
    _, cfg, model = load_nerf(folder / BASELINE / "checkpoint.pt")
    fit_to_scene(cfg, scene)
    samples = cfg.render.n_samples
    scores = []
    for n in (samples, samples * HEADROOM_FACTOR):
        cfg.render.n_samples = n
        scores.append(evaluate_views(model, scene, cfg)["psnr"]["mean"])
    return {"variant": BASELINE, "samples": samples, "psnr": scores[0], "more_samples": samples * HEADROOM_FACTOR,
            "more_psnr": scores[1], "gain_db": scores[1] - scores[0]}


def run_compare(choice: SceneChoice, scene: Scene, budget: Budget, folder: Path, variants: list[str],
                log: Any = print, in_process: bool = False, resume: bool = False) -> dict[str, Any]:
    """Train every variant on ``scene`` (which ``choice`` names) within ``budget`` each, in its own process or
    ``in_process`` (``resume``: child processes only); then write compare.json (with :func:`sampling_headroom` when
    it applies), the PSNR curves and the side-by-side figure."""
    # the baseline trains last, scored on the test views at each other variant's final step count as well: in
    # equal time the variants end at different counts, and NeRF's claim for an improvement is at equal iterations
    counts: set[int] = set()
    for v in sorted(variants, key=lambda name: name == BASELINE):
        score_at = tuple(sorted(counts)) if v == BASELINE and budget.iters is None else ()
        if in_process:
            metrics = train_here(v, scene, budget, folder / v, log, score_at)
        else:
            metrics = train_variant(v, choice, budget, folder / v, log, resume, score_at)
        counts.add(metrics["iterations"])
    summary = summarize(folder, variants)
    summary["sampling_headroom"] = sampling_headroom(folder, scene, variants)
    plot_curves(summary, folder, log_iterations=budget.iters is None)
    probe = probe_view(scene)  # the view the curves follow: the one a blank render fits worst
    plot_side_by_side(folder, variants, scene.images[probe], scene.test_idx.index(probe))
    blank = blank_psnr(scene.images[scene.test_idx])
    write_json(folder / "compare.json", {k: v for k, v in summary.items() if k != "logs"}
               | {"seconds_budget": budget.seconds, "iters_budget": budget.iters, "batch_rays": budget.batch_rays,
                  "scene": scene.name,
                  "test_views": scene.test_idx,
                  "blank_psnr": blank})
    return summary
