"""The report's first table: one row per question of the study, its numbers, and a verdict computed from them.

A verdict says "inconclusive" when the numbers are within noise or the models are too briefly trained to carry
the claim; it never repeats the expected story when the measurement goes against it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from neuralens.core.io import read_json
from neuralens.deform.check import TOLERANCE

#: a landscape or gradient measure must differ by this factor before one model is called flatter / healthier
MARGIN = 1.25
#: PSNR differences below this many dB are within the run-to-run noise of a short CPU training
PSNR_NOISE_DB = 0.5
#: below this test accuracy a classifier is too undertrained for landscape claims
UNDERTRAINED = 0.5


@dataclass
class Finding:
    question: str
    numbers: str
    verdict: str
    anchor: str


def _json(path: Path) -> Any:
    return read_json(path) if path.is_file() else None


def _g(x: float) -> str:
    return f"{x:.3g}"


def _decades_from_one(ratio: float) -> float:
    """How many orders of magnitude a first/last gradient ratio is from 1 (0: no loss or gain with depth)."""
    return abs(math.log10(ratio)) if ratio > 0 and math.isfinite(ratio) else math.inf


def gradient_finding(gf: dict[str, Any]) -> Finding | None:
    models = gf.get("models", {})
    keys = [k for k in ("resnet18@init", "plain18@init", "vgg16@init", "vgg16_bn@init", "resnet18", "vgg16_bn")
            if k in models]
    if "resnet18@init" not in models and "resnet18" not in models:
        return None
    ratio = {k: models[k]["summary"]["first_to_last_block_input_grad"] for k in keys}
    numbers = "first/last block-input gradient: " + ", ".join(f"{k} {_g(v)}" for k, v in ratio.items())
    res = ratio.get("resnet18@init", ratio.get("resnet18"))
    others = {k: v for k, v in ratio.items() if k.split("@")[0] in ("plain18", "vgg16") and k.endswith("@init")}
    if not others:
        return Finding("Does ResNet keep gradients alive with depth?", numbers, "inconclusive: no plain net to compare",
                       "gradflow")
    worst = max(others, key=lambda k: _decades_from_one(others[k]))
    gap = _decades_from_one(others[worst]) - _decades_from_one(res)
    if gap > math.log10(MARGIN):
        verdict = (f"yes: at initialisation the gradient reaching ResNet18's first block is {_g(res)} of the last "
                   f"one's, against {_g(others[worst])} for {worst.split('@')[0]} ({gap:.1f} orders of magnitude "
                   "nearer 1)")
    elif gap < -math.log10(MARGIN):
        verdict = (f"no, not in this run: {worst.split('@')[0]} keeps its gradient nearer 1 ({_g(others[worst])}) "
                   f"than ResNet18 ({_g(res)})")
    else:
        verdict = "inconclusive at this size: the ratios are within 25% of each other"
    return Finding("Does ResNet keep gradients alive with depth?", numbers, verdict, "gradflow")


def landscape_finding(metas: dict[str, dict[str, Any]], accuracy: dict[str, float]) -> Finding | None:
    if len(metas) < 2:
        return None
    (a, ma), (b, mb) = list(metas.items())[:2]
    sa, sb = ma.get("sharpness", {}), mb.get("sharpness", {})
    measures = [k for k in ("mean_rise_r0.5", "top_hessian_eigenvalue") if k in sa and k in sb]
    numbers = "; ".join(f"{k}: {a} {_g(sa[k])}, {b} {_g(sb[k])}" for k in measures)
    flatter = {k: (a if sa[k] < sb[k] else b) for k in measures
               if min(sa[k], sb[k]) > 0 and max(sa[k], sb[k]) / min(sa[k], sb[k]) >= MARGIN}
    weak = [m for m in (a, b) if accuracy.get(m, 1.0) < UNDERTRAINED]
    if weak:
        verdict = (f"inconclusive at this size: {', '.join(weak)} reached test accuracy below {UNDERTRAINED} (too "
                   "briefly trained for its landscape to say much)")
    elif not flatter:
        verdict = "inconclusive: the two landscapes are within 25% of each other by every measure"
    elif len(set(flatter.values())) > 1:
        verdict = "inconclusive: the measures disagree (" + ", ".join(f"{k} favours {v}" for k, v in flatter.items()) \
            + ")"
    elif len(flatter) == len(measures):
        verdict = f"{next(iter(flatter.values()))} is flatter by every measure ({', '.join(measures)})"
    else:
        within = [k for k in measures if k not in flatter]
        verdict = (f"inconclusive: {', '.join(f'{k} favours {v}' for k, v in flatter.items())}, but "
                   f"{', '.join(within)} is within 25%")
    return Finding("Which landscape is flatter, and by which measure?", numbers, verdict, "landscape")


def accuracy_finding(summary: dict[str, Any]) -> Finding:
    models = summary["models"]
    numbers = ", ".join(f"{m['model']} {m['accuracy']:.4f}" for m in models) + f" on {summary['data']}"
    trained = [m for m in models if m.get("trained_here", True)]
    if trained:
        verdict = (f"trained here for {trained[0].get('epochs')} epoch(s) on {trained[0].get('train_images')} images: "
                   "accuracies of a short CPU run, far from published ones")
    else:
        verdict = "the user's models with their own weights"
    return Finding("How accurate are the models studied?", numbers, verdict, "cnn")


def deform_findings(check: dict[str, Any], speed: dict[str, Any] | None) -> list[Finding]:
    exact = check["worst"] < TOLERANCE
    numbers = (f"worst |ours - torchvision| over outputs and gradients: {check['worst']:.2e} "
               f"({len(check['cases'])} cases)")
    verdict = "exact to float32 rounding" if exact else f"NOT exact: a difference above {TOLERANCE:g}"
    if speed:
        numbers += f"; forward+backward {speed['speedup_vs_torchvision']:.1f}x torchvision's CPU kernel"
        verdict += f", {speed['speedup_vs_torchvision']:.1f}x " + ("faster" if speed["speedup_vs_torchvision"] > 1
                                                                     else "slower")
    return [Finding("Is the deformable op exact, and how fast?", numbers, verdict, "deform"),
            Finding("Why does the offset conv have 2*kh*kw channels?", "3x3 kernel: 9 taps x (dy, dx) = 18 channels",
                    "one displacement per tap per output pixel (see the explanation)", "deform")]


def nerf_findings(cross: dict[str, Any] | None, cmp: dict[str, Any] | None) -> list[Finding]:
    out = []
    if cross:
        drop = cross["psnr_own_scene"] - cross["psnr_other_scene"]
        verdict = (f"no: {drop:.1f} dB worse on the other scene; it renders the scene it was fitted to"
                   if drop > PSNR_NOISE_DB else "inconclusive: the two scenes score alike")
        out.append(Finding("Can a trained NeRF render another scene?",
                           f"{cross['trained_on']}: {cross['psnr_own_scene']:.2f} dB on its own views, "
                           f"{cross['psnr_other_scene']:.2f} dB on {cross['other_scene']}'s", verdict, "nerf"))
    if cmp and cmp.get("baseline") in cmp["variants"]:
        base = cmp["variants"][cmp["baseline"]]
        best = cmp["best"]
        b = cmp["variants"][best]
        gain = b["psnr"] - base["psnr"]
        numbers = ", ".join(f"{v} {r['psnr']:.2f} dB" for v, r in cmp["variants"].items()) + \
            f" after {cmp['seconds_budget']:g} s each"
        if best == cmp["baseline"] or gain < PSNR_NOISE_DB:
            verdict = f"inconclusive: no variant beats the baseline by {PSNR_NOISE_DB} dB in this budget"
        else:
            sooner = b.get("speedup_to_baseline_psnr")
            verdict = f"{best}: +{gain:.1f} dB over {cmp['baseline']}" + (
                f", reaching the baseline's final PSNR {sooner:.1f}x sooner" if sooner else "")
        out.append(Finding("Which NeRF variant wins, by how much, and how much sooner?", numbers, verdict, "nerf"))
    return out


def findings(run_dir: Path) -> list[Finding]:
    """Every finding the run folder holds numbers for, in the order of the study."""
    out: list[Finding] = []
    summary = _json(run_dir / "cnn" / "summary.json")
    accuracy = {m["model"]: m["accuracy"] for m in summary["models"]} if summary else {}
    gf = _json(run_dir / "gradflow" / "gradflow.json")
    if gf and (f := gradient_finding(gf)):
        out.append(f)
    land = run_dir / "landscape"
    metas = {p.name: read_json(p / "landscape.json") for p in sorted(land.iterdir())
             if (p / "landscape.json").is_file()} if land.is_dir() else {}
    if (f := landscape_finding(metas, accuracy)):
        out.append(f)
    if summary:
        out.append(accuracy_finding(summary))
    check = _json(run_dir / "deform" / "check.json")
    if check:
        out += deform_findings(check, _json(run_dir / "deform" / "speed.json"))
    out += nerf_findings(_json(run_dir / "nerf" / "cross_scene.json"), _json(run_dir / "nerf" / "compare" /
                                                                             "compare.json"))
    return out
