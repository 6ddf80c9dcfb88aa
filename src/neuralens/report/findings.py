"""The report's first table: one row per question of the study, its numbers, and its verdict.

Each row reads its evidence from the run folder, decides it by the question's rule (:mod:`neuralens.core.rules`)
and words it (:mod:`neuralens.core.wording`); where the evidence is too thin to carry a claim the rule says
"inconclusive" and why.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from neuralens.cnn.depth_verdicts import depth_verdicts
from neuralens.core import rules
from neuralens.core.io import read_json
from neuralens.core.rules import Decision
from neuralens.core.stats import interval_text
from neuralens.core.wording import span, verdict_text
from neuralens.deform.adaptation import adaptation_verdicts
from neuralens.deform.check import TOLERANCE
from neuralens.nerf.budget import recorded_budget

RATIO = "first_to_last_block_input_grad"


@dataclass
class Finding:
    question: str
    numbers: str
    verdict: str
    anchor: str
    decision: Decision | None = None


def finding(question: str, numbers: str, anchor: str, key: str, d: Decision, **names: str) -> Finding:
    return Finding(question, numbers, verdict_text(key, d, **names), anchor, d)


def _json(path: Path) -> Any:
    return read_json(path) if path.is_file() else None


def _seed_values(entry: dict[str, Any]) -> list[float]:
    return [row["summary"][RATIO] for row in entry["seeds"]]


def _batch_values(entry: dict[str, Any]) -> list[float]:
    return [v for v in entry["per_batch_first_to_last_block_input_grad"] if v == v]


def _pick(models: dict[str, Any], name: str) -> str | None:
    """The key of ``name`` at initialisation: ``name@init`` when the run also has it trained, else ``name``."""
    return f"{name}@init" if f"{name}@init" in models else (name if name in models else None)


def gradient_finding(gf: dict[str, Any]) -> Finding | None:
    """Does the identity shortcut keep gradients alive? ResNet18 against Plain18 (same layers, same batch norm) at
    initialisation over seeds and trained over real batches; against VGG16 (no batch norm) at initialisation."""
    models = gf["models"]
    res, plain, vgg = _pick(models, "resnet18"), _pick(models, "plain18"), _pick(models, "vgg16")
    shown = [k for k in (res, plain, _pick(models, "vgg16_bn"), vgg) if k]
    if not shown:
        return None
    trained = [k for k in ("resnet18", "plain18", "vgg16_bn") if k in models and f"{k}@init" in models]
    numbers = "first/last block-input gradient at init: " + ", ".join(
        f"{k.split('@')[0]} {span(_seed_values(models[k]))}" for k in shown)
    if trained:
        numbers += "; trained: " + ", ".join(f"{k} {span(_batch_values(models[k]))}" for k in trained)
    conditions = {}
    if res and plain:
        conditions["with batch norm, at initialisation"] = rules.shortcut_rule(
            _seed_values(models[res]), _seed_values(models[plain]), res_name="ResNet18", plain_name="Plain18",
            unit="seeds")
    if "resnet18" in trained and "plain18" in trained:
        conditions["with batch norm, trained"] = rules.shortcut_rule(
            _batch_values(models["resnet18"]), _batch_values(models["plain18"]), res_name="ResNet18",
            plain_name="Plain18", unit="real batches")
    if res and vgg:
        conditions["without batch norm (VGG16), at initialisation"] = rules.shortcut_rule(
            _seed_values(models[res]), _seed_values(models[vgg]), res_name="ResNet18", plain_name="VGG16",
            unit="seeds")
    d = rules.combine(conditions) if conditions else Decision("inconclusive", "conditions", {"conditions": {}})
    return finding("Does the identity shortcut keep gradients alive with depth?", numbers, "gradflow", "conditions", d)


def depth_findings(result: dict[str, Any]) -> list[Finding]:
    """One row per depth of a ``neuralens depth`` series (:func:`neuralens.cnn.depth_verdicts.depth_verdicts`)."""
    return [finding(q, numbers, "depth", "conditions", d) for q, numbers, d in depth_verdicts(result)]


def _rises(meta: dict[str, Any]) -> list[float]:
    return [r["mean_rise_r0.5"] for r in meta["sharpness"]["per_direction_seed"]]


def _eigs(meta: dict[str, Any]) -> list[float]:
    """The top Hessian eigenvalue over probe seeds (none when the landscape ran without the Hessian)."""
    s = meta.get("sharpness", {})
    if "top_hessian_eigenvalue_spread" in s:
        return [s["top_hessian_eigenvalue_spread"]["min"], s["top_hessian_eigenvalue_spread"]["max"]]
    return [s["top_hessian_eigenvalue"]] if "top_hessian_eigenvalue" in s else []


def landscape_finding(metas: dict[str, dict[str, Any]], accuracy: dict[str, dict[str, float]]) -> Finding | None:
    """Is ResNet18's landscape flatter than Plain18's (else the first two models')? See rules.flatter_rule."""
    if len(metas) < 2:
        return None
    names = [n for n in ("resnet18", "plain18") if n in metas]
    a, b = names if len(names) == 2 else list(metas)[:2]
    numbers = "; ".join(f"{m}: rise at r=0.5 {span(_rises(meta))}"
                        + (f", top Hessian eigenvalue {span(_eigs(meta))}" if _eigs(meta) else "")
                        for m, meta in metas.items())
    weak = [f"{m} reached test accuracy {accuracy[m]['accuracy']:.3f} < {rules.UNDERTRAINED} (too briefly trained)"
            for m in (a, b) if m in accuracy and accuracy[m]["accuracy"] < rules.UNDERTRAINED]
    d = rules.flatter_rule(_rises(metas[a]), _rises(metas[b]), _eigs(metas[a]), _eigs(metas[b]), weak)
    return finding(f"Is {a}'s loss landscape flatter than {b}'s?", numbers, "landscape", "flatter", d, a=a, b=b)


def accuracy_finding(summary: dict[str, Any]) -> Finding:
    models, k = summary["models"], summary["num_classes"]
    n = models[0]["n_test"]
    numbers = ", ".join(f"{m['model']} {m['accuracy']:.4f}" for m in models) + \
        f" on {n} test images of {summary['data']}"
    trained = [m for m in models if m.get("trained_here")]
    if trained:
        source = (f"trained here for {trained[0].get('epochs')} epoch(s) on {trained[0].get('train_images')} images: "
                  "accuracies of a short CPU run, far from the shipped weights'")
    elif any(m.get("shipped") for m in models):
        source = "the weights neuralens ships (their cards: " + ", ".join(
            f"{m['model']} {m['card_accuracy']:.4f}" for m in models if m.get("shipped")) + \
            f" on all {models[0].get('card_n_test')} test images)"
    else:
        source = "the user's models with their own weights"
    d = rules.accuracy_rule({m["model"]: m["accuracy"] for m in models}, k, n)
    return finding("Are the models studied trained (above chance)?", numbers, "cnn", "accuracy", d, source=source)


def deform_findings(check: dict[str, Any], speed: dict[str, Any] | None) -> list[Finding]:
    exact = check["worst"] < TOLERANCE
    out = [Finding("Is the deformable op exact (outputs and gradients against torchvision)?",
                   f"worst |ours - torchvision|: {check['worst']:.2e} over {len(check['cases'])} cases",
                   f"{'yes' if exact else 'no'}: {'within' if exact else 'above'} {TOLERANCE:g}", "deform",
                   Decision("yes" if exact else "no", "tolerance", {"worst": check["worst"]}))]
    if speed:
        rounds, others = speed["speedup_per_round"], speed.get("others_cpu_share")
        numbers = (f"forward+backward speed-up over torchvision's CPU kernel in {len(rounds)} interleaved rounds: "
                   f"{span(rounds)}x" + ("" if others is None else
                                         f"; other processes took {100 * others:.0f}% of the CPU meanwhile"))
        out.append(finding("Is it faster than torchvision's CPU kernel?", numbers, "deform", "speed",
                           rules.speed_rule(rounds, others)))
    return out


def adaptation_findings(result: dict[str, Any]) -> list[Finding]:
    """The deformable adaptation experiment's two rows (:func:`neuralens.deform.adaptation.adaptation_verdicts`)."""
    return [finding(q, numbers, "deform", key, d) for q, numbers, key, d in adaptation_verdicts(result)]


def nerf_findings(cross: dict[str, Any] | None, cmp: dict[str, Any] | None,
                  over: dict[str, Any] | None = None) -> list[Finding]:
    """The NeRF study's findings, every ranking at equal iterations; ``over`` (seeds.json) judges the variants it
    scored in every seed, ``cmp`` (one seed's compare.json) the rest."""
    out = []
    if cross:
        blank = cross.get("blank_psnr_own_scene")
        numbers = (f"{cross['trained_on']}: {cross['psnr_own_scene']:.2f} dB on its own views"
                   + (f" (blank image {blank:.2f} dB)" if blank is not None else "")
                   + f", {cross['psnr_other_scene']:.2f} dB on {cross['other_scene']}'s")
        out.append(finding("Can a trained NeRF render another scene?", numbers, "nerf", "cross_scene",
                           rules.cross_scene_rule(cross["psnr_own_scene"], cross["psnr_other_scene"], blank)))
    if not (cmp and cmp.get("variants")):
        return out
    blank, base = (cmp.get("blank_psnr") or {}).get("best"), cmp["baseline"]
    judged: dict[str, Finding] = {}
    for v in cmp["variants"]:
        if over and (over.get("variants") or {}).get(v):
            judged[v] = seeds_finding(v, over, blank)
        elif v != base and (f := equal_steps_finding(v, cmp, blank)):
            judged[v] = f
    gains = {v: f.decision.evidence["gain"] for v, f in judged.items()}
    out.append(finding("Which NeRF variant wins at equal iterations, and how soon does it reach the baseline?",
                       winner_numbers(cmp, blank), "nerf", "winner",
                       rules.winner_rule({v: f.decision for v, f in judged.items()}, gains), base=base))
    out += judged.values()
    if room := cmp.get("sampling_headroom"):
        numbers = (f"{room['variant']} rendered with {room['samples']} samples per ray {room['psnr']:.2f} dB, with "
                   f"{room['more_samples']} {room['more_psnr']:.2f} dB"
                   + (f"; blank image {blank:.2f} dB" if blank is not None else ""))
        out.append(finding("Could better-placed samples lift the baseline's render at this budget?", numbers, "nerf",
                           "headroom", rules.headroom_rule(room["gain_db"], room["psnr"], blank),
                           variant=room["variant"], more=str(room["more_samples"])))
    return out


def winner_numbers(cmp: dict[str, Any], blank: float | None) -> str:
    """Final PSNRs, and time-to-quality: the seconds each variant needed to reach the baseline's final probe PSNR,
    beside the share of the CPU other processes took while it trained (what a time depends on)."""
    rows, length = cmp["variants"], recorded_budget(cmp)
    text = ", ".join(f"{v} {r['psnr']:.2f} dB ({r['iterations']} it)" for v, r in rows.items()) + \
        f" after {length} each" + (f"; blank image {blank:.2f} dB" if blank is not None else "")
    target = cmp.get("baseline_final_probe_psnr")
    times = [f"{v} {r['time_to_baseline_final_psnr_s']:.0f} s" + (
        f" ({100 * r['others_cpu_share']:.0f}% of the CPU to others)" if r.get("others_cpu_share") is not None else "")
        for v, r in rows.items() if r.get("time_to_baseline_final_psnr_s") is not None]
    if target is not None and times:
        text += f"; seconds to reach {cmp['baseline']}'s final probe PSNR {target:.2f} dB: " + ", ".join(times)
    return text


def comparison_resolution(cmp: dict[str, Any]) -> tuple[float, str]:
    """The smallest PSNR difference a comparison resolves, and why: PSNR_NOISE_DB, or more when the baseline's own
    test PSNR fell by more than that late in its run (training only improves on average: a fall is noise)."""
    fall = cmp.get("baseline_test_fall_db") or 0.0
    if fall <= rules.PSNR_NOISE_DB:
        return rules.PSNR_NOISE_DB, ""
    return fall, f" (the baseline's own test PSNR fell {fall:.2f} dB between two of its scores: one run's noise)"


def equal_steps_finding(variant: str, cmp: dict[str, Any], blank: float | None) -> Finding | None:
    """Does an improvement beat the baseline after the same steps, on the test views (one seed)? None where the
    two were not scored after the same steps."""
    views = cmp["variants"][variant].get("test_views_at_equal_iterations")
    if views is None:
        return None
    base = cmp["baseline"]
    numbers = (f"test views after {views['iterations']} iterations each: {variant} {views['psnr']:.2f} dB "
               f"(SSIM {views['ssim']:.3f}), {base} {views['baseline_psnr']:.2f} dB (SSIM "
               f"{views['baseline_ssim']:.3f}) ({views['gain_db']:+.2f} dB)")
    resolves, why = comparison_resolution(cmp)
    d = rules.gain_rule(views["gain_db"], [views["psnr"], views["baseline_psnr"]], blank, resolves)
    return finding(f"Does {variant} beat {base} after the same training?", numbers, "nerf", "gain", d, why=why)


def seeds_finding(variant: str, over: dict[str, Any], blank: float | None) -> Finding:
    """The same over seeds: one paired gain per seed (test views after the same steps), judged by the 95% interval
    of their mean (Student's t)."""
    row, g = over["variants"][variant], over["variants"][variant]["gain"]
    numbers = (f"test views after the same steps, gain per seed ({', '.join(map(str, over['seeds']))}): "
               + ", ".join(f"{x:+.2f}" for x in row["gains_db"]) + f" dB; mean {g['mean']:+.2f} dB, 95% interval "
               f"{interval_text(g['ci95']) or 'none (one seed)'}; SSIM gains "
               + ", ".join(f"{x:+.3f}" for x in row["ssim_gains"]))
    d = rules.seeds_gain_rule(row["gains_db"], g["ci95"], row["psnr"] + row["baseline_psnr"], blank)
    return finding(f"Does {variant} beat {over['baseline']} after the same training, over {g['n']} seeds?", numbers,
                   "nerf", "gain", d)


def compare_folder(nerf_dir: Path, over: dict[str, Any] | None) -> Path:
    """Where a NeRF comparison's compare.json and figures are: ``compare/``, or for a comparison over seeds
    (``over``, its seeds.json) the first seed's folder."""
    return nerf_dir / "compare" / over["runs"][str(over["seeds"][0])] if over else nerf_dir / "compare"


def compare_budget(cmp: dict[str, Any]) -> tuple[str, str]:
    """A NeRF comparison's budget in the report's words: ("180 s", "in the same time") or ("2000 iterations", "at
    equal iterations")."""
    return recorded_budget(cmp), "at equal iterations" if cmp.get("iters_budget") is not None else "in the same time"


def findings(run_dir: Path) -> list[Finding]:
    """Every finding the run folder holds numbers for, in the order of the study."""
    depth = _json(run_dir / "depth" / "depth.json")
    out: list[Finding] = depth_findings(depth) if depth else []
    summary = _json(run_dir / "cnn" / "summary.json")
    accuracy = {m["model"]: m for m in summary["models"]} if summary else {}
    gf = _json(run_dir / "gradflow" / "gradflow.json")
    if gf and (f := gradient_finding(gf)):
        out.append(f)
    land = run_dir / "landscape"
    metas = {p.name: m for p in sorted(land.iterdir()) if (p / "landscape.json").is_file()
             and (m := read_json(p / "landscape.json")).get("directions") != "pca"} if land.is_dir() else {}
    if f := landscape_finding(metas, accuracy):
        out.append(f)
    if summary:
        out.append(accuracy_finding(summary))
    if check := _json(run_dir / "deform" / "check.json"):
        out += deform_findings(check, _json(run_dir / "deform" / "speed.json"))
    if adapt := _json(run_dir / "deform" / "adapt" / "adapt.json"):
        out += adaptation_findings(adapt)
    over = _json(run_dir / "nerf" / "compare" / "seeds.json")
    out += nerf_findings(_json(run_dir / "nerf" / "cross_scene.json"),
                         _json(compare_folder(run_dir / "nerf", over) / "compare.json"), over)
    return out
