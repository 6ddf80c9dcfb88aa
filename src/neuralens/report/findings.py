"""The report's first table: one row per question of the study, its numbers, and a verdict computed from them.

Every verdict follows a stated rule and names its evidence; where the evidence is too thin to carry a claim (too
few seeds, overlapping spreads, a classifier at chance, a NeRF that learned nothing, a noisy timing) it says
"inconclusive" and why. It never repeats the expected story when the measurement goes against it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from neuralens.core.cpu_share import OTHER_WORK_LIMIT
from neuralens.core.io import read_json
from neuralens.core.stats import interval_text, mean_interval
from neuralens.deform.check import TOLERANCE
from neuralens.nerf.budget import recorded_budget

#: a landscape or gradient measure must differ by this factor (beyond the spread) before one model wins
MARGIN = 1.25
#: PSNR differences below this many dB are within the run-to-run noise of a short CPU training
PSNR_NOISE_DB = 0.5
#: a NeRF has learned only when its held-out PSNR beats the better blank image (black, or each view's mean
#: colour) by this many dB
LEARNED_DB = 1.5
#: below this many iterations (or probe points on its curve) a NeRF curve means little
MIN_NERF_ITERATIONS, MIN_CURVE_POINTS = 20, 3
#: seeds needed before a spread means anything: initialisations (gradient flow), direction planes (landscape)
MIN_INIT_SEEDS, MIN_DIRECTION_SEEDS = 3, 2
#: below this test accuracy a classifier is too undertrained for landscape claims
UNDERTRAINED = 0.5
#: repeats of a timing whose per-round speed-ups differ by more than this factor make it noisy
NOISY_TIMING = 1.25


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


def speed_words(ratio: float) -> str:
    """``2.3x faster`` / ``1.8x slower`` for a speed ratio (ours over theirs); never "0.1x slower"."""
    return f"{ratio:.1f}x faster" if ratio >= 1 else f"{1 / ratio:.1f}x slower"


def _decades_from_one(ratio: float) -> float:
    """How many orders of magnitude a first/last gradient ratio is from 1 (0: no loss or gain with depth)."""
    return abs(math.log10(ratio)) if ratio > 0 and math.isfinite(ratio) else math.inf


def _seed_values(entry: dict[str, Any], key: str) -> list[float]:
    """A summary number per initialisation seed (one value for runs made before seeds were recorded)."""
    rows = entry.get("seeds") or [{"summary": entry["summary"]}]
    return [row["summary"][key] for row in rows]


def _range(values: list[float]) -> str:
    return _g(values[0]) if len(values) == 1 else f"{_g(min(values))}..{_g(max(values))}"


def _pick(models: dict[str, Any], name: str) -> str | None:
    """The key of ``name`` at initialisation: ``name@init`` when the run also has it trained, else ``name``."""
    return f"{name}@init" if f"{name}@init" in models else (name if name in models else None)


def _shortcut_condition(res: list[float], plain: list[float], what: str, unit: str, needed: int) -> tuple[str, str]:
    """(state, words) of the shortcut rule on one condition: ``res``/``plain`` are first/last block-input gradient
    ratios, one per seed or batch. yes: every Plain18 ratio is further from 1 than every ResNet18 ratio by more
    than :data:`MARGIN`; no: the reverse; else overlap, or thin with fewer than ``needed`` values."""
    n = min(len(res), len(plain))
    dr, dp = [_decades_from_one(v) for v in res], [_decades_from_one(v) for v in plain]
    ranges = f"Plain18 {_range(plain)}, ResNet18 {_range(res)} over {n} {unit}"
    margin = math.log10(MARGIN)
    if n < needed:
        return "thin", f"{what} inconclusive ({n} {unit}; the rule needs {needed} to see the spread)"
    if min(dp) - max(dr) > margin:
        return "yes", f"{what} the shortcut keeps the gradient nearer 1 ({ranges})"
    if min(dr) - max(dp) > margin:
        return "no", f"{what} Plain18 keeps its gradient nearer 1 than ResNet18 ({ranges})"
    return "overlap", f"{what} inconclusive, the ranges overlap within {MARGIN}x ({ranges})"


def gradient_finding(gf: dict[str, Any]) -> Finding | None:
    """Does the identity shortcut keep gradients alive? ResNet18 against Plain18 (same layers, same batch norm)
    at initialisation over seeds, and trained over real batches; VGG16(-BN) beside them."""
    models = gf.get("models", {})
    question = "Does the identity shortcut keep gradients alive with depth?"
    key = "first_to_last_block_input_grad"
    res_k, plain_k = _pick(models, "resnet18"), _pick(models, "plain18")
    shown = [k for k in (res_k, plain_k, _pick(models, "vgg16_bn"), _pick(models, "vgg16")) if k]
    trained = [k for k in ("resnet18", "plain18", "vgg16_bn") if k in models and f"{k}@init" in models]
    numbers = "first/last block-input gradient at init: " + ", ".join(
        f"{k.split('@')[0]} {_range(_seed_values(models[k], key))}" for k in shown)
    if trained:
        numbers += "; trained: " + ", ".join(f"{k} {_range(_batch_values(models[k]))}" for k in trained)
    if not (res_k and plain_k):
        if not shown:
            return None
        return Finding(question, numbers, "inconclusive: needs resnet18 and plain18 at initialisation (the same net "
                                          "with and without shortcuts)", "gradflow")
    parts = [_shortcut_condition(_seed_values(models[res_k], key), _seed_values(models[plain_k], key),
                                 "at initialisation:", "seeds", MIN_INIT_SEEDS)]
    if "resnet18" in trained and "plain18" in trained:
        parts.append(_shortcut_condition(_batch_values(models["resnet18"]), _batch_values(models["plain18"]),
                                         "trained:", "real batches", MIN_INIT_SEEDS))
    states = {state for state, _ in parts}
    # the deciding condition first (a stable sort keeps the order within each group)
    words = "; ".join(w for _, w in sorted(parts, key=lambda part: part[0] not in ("yes", "no")))
    rule = f"rule: every Plain18 ratio further from 1 than every ResNet18 ratio by more than {MARGIN}x"
    if "yes" in states and "no" in states:
        verdict = f"inconclusive: the conditions disagree ({words}; {rule})"
    elif "yes" in states:
        verdict = f"yes, {words} ({rule})"
    elif "no" in states:
        verdict = f"no, not in this run: {words} ({rule})"
    else:
        verdict = f"inconclusive: {words} ({rule})"
    return Finding(question, numbers, verdict, "gradflow")


def _batch_values(entry: dict[str, Any]) -> list[float]:
    """A trained net's ratio per real batch (one value for runs made before batches were recorded)."""
    values = [v for v in entry.get("per_batch_first_to_last_block_input_grad", []) if v == v]
    return values or [entry["summary"]["first_to_last_block_input_grad"]]


def _rises(meta: dict[str, Any]) -> list[float]:
    s = meta.get("sharpness", {})
    rows = s.get("per_direction_seed")
    return [r["mean_rise_r0.5"] for r in rows] if rows else ([s["mean_rise_r0.5"]] if "mean_rise_r0.5" in s else [])


def _eigs(meta: dict[str, Any]) -> list[float]:
    """The top Hessian eigenvalue's range over probe seeds (one value for runs without a spread)."""
    s = meta.get("sharpness", {})
    if "top_hessian_eigenvalue_spread" in s:
        return [s["top_hessian_eigenvalue_spread"]["min"], s["top_hessian_eigenvalue_spread"]["max"]]
    return [s["top_hessian_eigenvalue"]] if "top_hessian_eigenvalue" in s else []


def _too_weak(name: str, accuracy: dict[str, dict[str, float]]) -> str | None:
    """Why a classifier's landscape says little: accuracy below :data:`UNDERTRAINED` or at chance."""
    a = accuracy.get(name)
    if a is None:
        return None
    if a["accuracy"] < UNDERTRAINED:
        return f"{name} reached test accuracy {a['accuracy']:.3f} < {UNDERTRAINED} (too briefly trained)"
    return None


def landscape_finding(metas: dict[str, dict[str, Any]], accuracy: dict[str, dict[str, float]]) -> Finding | None:
    """Which landscape is flatter? Mean loss rise at radius 0.5 over direction seeds: ResNet18 against Plain18
    where both were studied (else the first two models), the top Hessian eigenvalue as a cross-check."""
    if len(metas) < 2:
        return None
    names = [n for n in ("resnet18", "plain18") if n in metas]
    a, b = names if len(names) == 2 else list(metas)[:2]
    ra, rb = _rises(metas[a]), _rises(metas[b])
    n = min(len(ra), len(rb))
    numbers = "; ".join(f"{m}: rise at r=0.5 {_range(_rises(meta))}"
                        + (f", top Hessian eigenvalue {_range(_eigs(meta))}" if _eigs(meta) else "")
                        for m, meta in metas.items())
    rule = (f"rule: over {n} direction seeds, every rise of one net below every rise of the other by more than "
            f"{MARGIN}x")
    question = "Which landscape is flatter, and by which measure?"
    weak = [w for w in (_too_weak(a, accuracy), _too_weak(b, accuracy)) if w]
    if weak:
        return Finding(question, numbers, "inconclusive: " + "; ".join(weak), "landscape")
    if n < MIN_DIRECTION_SEEDS:
        return Finding(question, numbers, f"inconclusive: {n} direction seed(s); the rule needs "
                                          f"{MIN_DIRECTION_SEEDS} to see the spread", "landscape")
    if max(ra) * MARGIN < min(rb):
        flat, sharp = a, b
    elif max(rb) * MARGIN < min(ra):
        flat, sharp = b, a
    else:
        return Finding(question, numbers, f"inconclusive: {a} and {b} overlap within {MARGIN}x across direction "
                                          f"seeds ({rule})", "landscape")
    ha, hb = _eigs(metas[flat]), _eigs(metas[sharp])
    if ha and hb and min(hb) > 0 and min(ha) > max(hb) * MARGIN:
        return Finding(question, numbers, f"inconclusive: the measures disagree ({flat} rises less at r=0.5, but its "
                                          f"top Hessian eigenvalue is {min(ha) / max(hb):.2f}x {sharp}'s or more, "
                                          "across probe seeds)", "landscape")
    return Finding(question, numbers, f"{flat} is flatter than {sharp}: its loss rises {_range(_rises(metas[flat]))} "
                                      f"at radius 0.5 against {_range(_rises(metas[sharp]))} ({rule})", "landscape")


def above_chance(accuracy: float, num_classes: int, n: int) -> bool:
    """Accuracy beyond what guessing gives, by three binomial standard errors of a guesser on ``n`` images."""
    p0 = 1 / max(num_classes, 1)
    return accuracy > p0 + 3 * math.sqrt(p0 * (1 - p0) / max(n, 1))


def accuracy_finding(summary: dict[str, Any]) -> Finding:
    models = summary["models"]
    k = summary.get("num_classes", 10)
    numbers = ", ".join(f"{m['model']} {m['accuracy']:.4f}" for m in models) + \
        f" on {models[0].get('n_test', '?')} test images of {summary['data']}"
    chance = [m["model"] for m in models if not above_chance(m["accuracy"], k, m.get("n_test", 0) or 1)]
    trained = [m for m in models if m.get("trained_here")]
    if chance:
        verdict = (f"at chance level: {', '.join(chance)} cannot be told from guessing among {k} classes (rule: "
                   "accuracy 3 standard errors above 1/classes); nothing below is about trained nets")
    elif trained:
        verdict = (f"trained here for {trained[0].get('epochs')} epoch(s) on {trained[0].get('train_images')} images: "
                   "accuracies of a short CPU run, far from the shipped weights'")
    elif any(m.get("shipped") for m in models):
        verdict = ("the weights neuralens ships (their cards: " + ", ".join(
            f"{m['model']} {m['card_accuracy']:.4f}" for m in models if m.get("shipped")) +
            f" on all {models[0].get('card_n_test')} test images)")
    else:
        verdict = "the user's models with their own weights"
    return Finding("How accurate are the models studied?", numbers, verdict, "cnn")


def _bound_beyond_noise(rounds: list[float]) -> float | None:
    """The round nearest to parity when every round is faster (or every one slower) by more than a noisy run's
    spread: noise that moves a round by NOISY_TIMING cannot then turn it around; None otherwise."""
    if min(rounds) > NOISY_TIMING:
        return min(rounds)
    if max(rounds) < 1 / NOISY_TIMING:
        return max(rounds)
    return None


def deform_findings(check: dict[str, Any], speed: dict[str, Any] | None) -> list[Finding]:
    exact = check["worst"] < TOLERANCE
    numbers = (f"worst |ours - torchvision| over outputs and gradients: {check['worst']:.2e} "
               f"({len(check['cases'])} cases)")
    verdict = "exact to float32 rounding" if exact else f"NOT exact: a difference above {TOLERANCE:g}"
    if speed:
        ratio = speed["speedup_vs_torchvision"]
        rounds = speed.get("speedup_per_round") or [ratio]
        spread = max(rounds) / min(rounds)
        others = speed.get("others_cpu_share")  # None: not measured (an older run, or no /proc)
        shared = "" if others is None else f"; other processes took {100 * others:.0f}% of the CPU meanwhile"
        numbers += (f"; forward+backward median over {len(rounds)} interleaved rounds: {speed_words(ratio)} than "
                    f"torchvision's CPU kernel (rounds {_g(min(rounds))}x..{_g(max(rounds))}x{shared})")
        if len(rounds) < 3:
            verdict += f"; speed inconclusive: {len(rounds)} timing round(s), the rule needs 3"
        elif others is not None and others > OTHER_WORK_LIMIT:
            verdict += (f"; speed inconclusive: other processes took {100 * others:.0f}% of the CPU during the timing "
                        f"(> {100 * OTHER_WORK_LIMIT:.0f}%), so it timed the contention, not the op")
        elif spread > NOISY_TIMING:
            noise = (f"the rounds disagree by {100 * (spread - 1):.0f}% > {100 * (NOISY_TIMING - 1):.0f}%"
                     + ("; other work shared the CPU?" if others is None else ""))
            bound = _bound_beyond_noise(rounds)
            verdict += (f"; at least {speed_words(bound)} than torchvision in every one of {len(rounds)} interleaved "
                        f"rounds, the factor itself imprecise ({noise})" if bound else
                        f"; speed inconclusive: a noisy run ({noise})")
        else:
            verdict += f", {speed_words(ratio)} than torchvision (median of {len(rounds)} interleaved rounds)"
    return [Finding("Is the deformable op exact, and how fast?", numbers, verdict, "deform"),
            Finding("Why does the offset conv have 2*kh*kw channels?", "3x3 kernel: 9 taps x (dy, dx) = 18 channels",
                    "one displacement per tap per output pixel (see the explanation)", "deform")]


def experiment_finding(res: dict[str, Any]) -> Finding | None:
    """Does the deformable net beat the plain one on warped images? Only above chance, and only by more than two
    standard errors of the difference."""
    acc = {n: r["accuracy"] for n, r in res.get("models", {}).items()}
    if not {"small_cnn", "small_dcn"} <= set(acc):
        return None
    k, n = res.get("num_classes", 10), res.get("n_test", 0)
    numbers = (f"small_dcn {acc['small_dcn']:.4f}, small_cnn {acc['small_cnn']:.4f} on {n or '?'} warped test "
               f"images after {res.get('epochs')} epoch(s)")
    question = "Do deformable layers help on geometrically varied images?"
    if not n or not all(above_chance(a, k, n) for a in acc.values()):
        return Finding(question, numbers, f"inconclusive: at least one net is at chance level among {k} classes (rule: "
                                          "3 standard errors above 1/classes)", "deform")
    p = (acc["small_dcn"] + acc["small_cnn"]) / 2
    se = math.sqrt(2 * p * (1 - p) / n)
    diff = acc["small_dcn"] - acc["small_cnn"]
    if abs(diff) <= 2 * se:
        return Finding(question, numbers, f"inconclusive: the difference {diff:+.4f} is within two standard errors "
                                          f"({2 * se:.4f}) of {n} test images", "deform")
    winner = "yes: the deformable net" if diff > 0 else "no, not in this run: the plain net"
    return Finding(question, numbers, f"{winner} scores {abs(diff):.4f} higher, beyond two standard errors "
                                      f"({2 * se:.4f}); one seed, one short budget", "deform")


def _learned(psnr: float, blank: float | None) -> bool:
    return blank is None or psnr >= blank + LEARNED_DB


def nerf_findings(cross: dict[str, Any] | None, cmp: dict[str, Any] | None,
                  over: dict[str, Any] | None = None) -> list[Finding]:
    """The NeRF study's findings; ``over`` (a comparison over seeds, seeds.json) answers which variant wins and
    "after the same training" for the variants it scored in every seed, ``cmp`` (one seed's compare.json)
    everything else."""
    out = []
    learned_rule = f"learned = held-out PSNR at least {LEARNED_DB} dB above the better blank image"
    if cross:
        drop = cross["psnr_own_scene"] - cross["psnr_other_scene"]
        blank = cross.get("blank_psnr_own_scene")
        numbers = (f"{cross['trained_on']}: {cross['psnr_own_scene']:.2f} dB on its own views"
                   + (f" (blank image {blank:.2f} dB)" if blank is not None else "")
                   + f", {cross['psnr_other_scene']:.2f} dB on {cross['other_scene']}'s")
        if not _learned(cross["psnr_own_scene"], blank):
            verdict = f"inconclusive: the field did not learn its own scene ({learned_rule})"
        elif drop > PSNR_NOISE_DB:
            verdict = f"no: {drop:.1f} dB worse on the other scene; it renders the scene it was fitted to"
        else:
            verdict = "inconclusive: the two scenes score alike"
        out.append(Finding("Can a trained NeRF render another scene?", numbers, verdict, "nerf"))
    compare_blank = ((cmp or {}).get("blank_psnr") or {}).get("best")
    if cmp and cmp.get("variants"):
        out.append(_seeds_winner(over, compare_blank, learned_rule) if over and over.get("final_psnr") else
                   _variant_finding(cmp, compare_blank, learned_rule))
        for v in cmp["variants"]:
            if over and (over.get("variants") or {}).get(v):
                out.append(seeds_finding(v, over, compare_blank, learned_rule))
            elif f := equal_training_finding(v, cmp, compare_blank, learned_rule):
                out.append(f)
    if cmp and cmp.get("sampling_headroom"):
        out.append(headroom_finding(cmp["sampling_headroom"], compare_blank, learned_rule))
    return out


def headroom_finding(room: dict[str, Any], blank: float | None, learned_rule: str) -> Finding:
    """Whether any sampler could lift the baseline by rendering alone: its own field rendered with more samples
    (``nerf.compare.sampling_headroom``). A field that did not learn says nothing about sampling."""
    more, gain = room["more_samples"], room["gain_db"]
    numbers = (f"{room['variant']} rendered with {room['samples']} samples per ray {room['psnr']:.2f} dB, with "
               f"{more} {room['more_psnr']:.2f} dB" + (f"; blank image {blank:.2f} dB" if blank is not None else ""))
    if not _learned(room["psnr"], blank):
        verdict = f"inconclusive: {room['variant']} did not learn ({learned_rule})"
    elif gain >= PSNR_NOISE_DB:
        verdict = f"yes: {more} samples lift its render by {gain:.1f} dB"
    elif gain <= -PSNR_NOISE_DB:
        verdict = f"no: {more} samples lower its render by {-gain:.1f} dB (the field fits its own sampling)"
    else:
        verdict = (f"no: {more} samples move its render by {gain:+.2f} dB, inside the {PSNR_NOISE_DB} dB a "
                   "comparison resolves; the field, not the sampling, limits it at this budget, so a second "
                   "sampling pass can gain only through training")
    return Finding("Could better-placed samples lift the baseline's render at this budget?", numbers, verdict,
                   "nerf")


#: a verdict from the probe curve alone also needs the variant ahead (or behind) at this share of its probes
PROBE_MAJORITY = 0.75


def comparison_resolution(cmp: dict[str, Any]) -> tuple[float, str]:
    """The smallest PSNR difference a NeRF comparison resolves, and why: PSNR_NOISE_DB, or more when the
    baseline's own test PSNR fell by more than that late in its run (``baseline_test_fall_db``)."""
    fall = cmp.get("baseline_test_fall_db") or 0.0
    if fall <= PSNR_NOISE_DB:
        return PSNR_NOISE_DB, ""
    return fall, f" (the baseline's own test PSNR fell {fall:.2f} dB between two of its scores: one run's noise)"


def _test_views_at_equal_iterations(cmp: dict[str, Any], variant: str) -> dict[str, Any] | None:
    """The variant's and the baseline's test-view scores after the same steps (compare.json's own entry; a
    comparison written before it had one still has them when both ran an iteration budget to the end)."""
    mine = cmp["variants"][variant]
    if "test_views_at_equal_iterations" in mine:
        return mine["test_views_at_equal_iterations"]
    base = cmp["variants"][cmp["baseline"]]
    if cmp.get("iters_budget") is None or mine.get("iterations") != base.get("iterations"):
        return None
    return {"iterations": mine["iterations"], "psnr": mine["psnr"], "ssim": mine["ssim"],
            "baseline_psnr": base["psnr"], "baseline_ssim": base["ssim"], "gain_db": mine["psnr"] - base["psnr"]}


def equal_training_finding(variant: str, cmp: dict[str, Any], blank: float | None,
                           learned_rule: str) -> Finding | None:
    """Does an improvement beat the baseline after the same training, the claim NeRF makes for it? The test views
    answer when both were scored after the same steps: an iteration budget, or a time budget whose baseline was
    also scored at the variant's final count (nerf compare does that). Else only the probe view's curves share a
    stretch, and one view moves by about a dB between probes, so the verdict also needs the variant ahead (or
    behind) at PROBE_MAJORITY of its probes."""
    rows, base_name = cmp["variants"], cmp.get("baseline")
    if base_name not in rows or variant == base_name:
        return None
    mine, eq = rows[variant], rows[variant].get("at_equal_iterations") or {}
    views = _test_views_at_equal_iterations(cmp, variant)
    if "probes" not in eq and views is None:
        return None
    probe = (f"probe view ahead at {eq['ahead']} of {eq['probes']} probes ({eq['mean_gain_db']:+.2f} dB on "
             "average)") if "probes" in eq else ""
    resolves, why = comparison_resolution(cmp)
    if views is not None:
        gain, base_psnr, enough = views["gain_db"], views["baseline_psnr"], True
        if probe and eq["probes"] < MIN_CURVE_POINTS:  # (a share of one or two probes reads like a verdict)
            probe = f"probe view: {eq['probes']} probe(s) in the stretch both trained, too few to read"
        numbers = (f"test views after {views['iterations']} iterations each: {variant} {views['psnr']:.2f} dB "
                   f"(SSIM {views['ssim']:.3f}), {base_name} {base_psnr:.2f} dB (SSIM {views['baseline_ssim']:.3f})"
                   f" ({gain:+.2f} dB)" + (f"; {probe}" if probe else ""))
        yes, no = gain >= resolves, gain <= -resolves
    else:
        gain, base_psnr, enough = eq["mean_gain_db"], rows[base_name]["psnr"], eq["probes"] >= MIN_CURVE_POINTS
        numbers = (f"{probe} over the {eq['images']:.1f} images of rays both trained (the test views were scored "
                   "after different amounts of training)")
        share = eq["ahead"] / eq["probes"] if eq["probes"] else 0.0
        yes = gain >= resolves and share >= PROBE_MAJORITY
        no = gain <= -resolves and share <= 1 - PROBE_MAJORITY
    question = f"Does {variant} beat {base_name} after the same training?"
    if not (_learned(mine["psnr"], blank) and _learned(base_psnr, blank)) or not enough:
        shared = "" if views is not None else f" and share >= {MIN_CURVE_POINTS} probes"
        verdict = (f"inconclusive: both must have learned{shared} ({learned_rule}; {variant} {mine['psnr']:.2f} dB, "
                   f"{base_name} {base_psnr:.2f} dB" + (f", {eq['probes']} probes)" if views is None else ")"))
    elif yes:
        verdict = f"yes: {gain:+.2f} dB"
    elif no:
        verdict = f"no: {gain:+.2f} dB"
    else:
        verdict = (f"inconclusive: {gain:+.2f} dB is inside the {resolves:.2g} dB a comparison resolves{why}"
                   if abs(gain) < resolves else
                   f"inconclusive: {gain:+.2f} dB on average, but ahead at only {eq['ahead']} of {eq['probes']} "
                   f"probes (needs {PROBE_MAJORITY:.0%} of them either way)")
    return Finding(question, numbers, verdict, "nerf")


def seeds_finding(variant: str, over: dict[str, Any], blank: float | None, learned_rule: str) -> Finding:
    """Does an improvement beat the baseline after the same training, judged over seeds: one paired gain per seed
    (both scored on the test views after the same steps), yes / no only when the 95% interval of their mean
    (Student's t) lies above / below zero."""
    row, base = over["variants"][variant], over["baseline"]
    g, seeds = row["gain"], ", ".join(map(str, over["seeds"]))
    interval = f"{interval_text(g['ci95'])} dB" if g["ci95"] else "none (one seed)"
    numbers = (f"test views after the same steps, gain per seed ({seeds}): "
               + ", ".join(f"{x:+.2f}" for x in row["gains_db"]) + f" dB; mean {g['mean']:+.2f} dB, 95% interval "
               f"{interval}; SSIM gains " + ", ".join(f"{x:+.3f}" for x in row["ssim_gains"]))
    question = f"Does {variant} beat {base} after the same training, over {g['n']} seeds?"
    if not all(_learned(p, blank) for p in row["psnr"] + row["baseline_psnr"]):
        verdict = f"inconclusive: every run must have learned ({learned_rule})"
    elif g["ci95"] is None:
        verdict = "inconclusive: one seed has no spread to judge its gain by"
    elif g["ci95"][0] > 0:
        verdict = f"yes: {g['mean']:+.2f} dB on average, the 95% interval above zero"
    elif g["ci95"][1] < 0:
        verdict = f"no: {g['mean']:+.2f} dB on average, the 95% interval below zero"
    else:
        ahead = sum(x > 0 for x in row["gains_db"])
        verdict = (f"inconclusive: the 95% interval of the mean gain, {interval}, includes zero (ahead in {ahead} "
                   f"of {g['n']} seeds)")
    return Finding(question, numbers, verdict, "nerf")


def compare_folder(nerf_dir: Path, over: dict[str, Any] | None) -> Path:
    """Where a NeRF comparison's compare.json and figures are: ``compare/``, or for a comparison over seeds
    (``over``, its seeds.json) the first seed's folder."""
    return nerf_dir / "compare" / over["runs"][str(over["seeds"][0])] if over else nerf_dir / "compare"


def compare_budget(cmp: dict[str, Any]) -> tuple[str, str]:
    """A NeRF comparison's budget in the report's words: ("180 s", "in the same time") or ("2000 iterations", "at
    equal iterations"): a ranking at equal iterations is NeRF's claim, one in equal time is this machine's."""
    return recorded_budget(cmp), "at equal iterations" if cmp.get("iters_budget") is not None else "in the same time"


def _crowded(shares: dict[str, list[float | None]], budget: dict[str, Any], question: str, numbers: str
             ) -> Finding | None:
    """An inconclusive ranking in equal time when other processes took more than OTHER_WORK_LIMIT of the CPU while
    any run trained (``shares``: per variant, one share per run; None: not measured); None otherwise, and always
    at equal iterations, whose steps do not depend on the load."""
    worst = {v: max(x for x in xs if x is not None) for v, xs in shares.items() if any(x is not None for x in xs)}
    crowded = {v: x for v, x in worst.items() if x > OTHER_WORK_LIMIT}
    if budget.get("iters_budget") is not None or not crowded:
        return None
    took = ", ".join(f"{100 * x:.0f}% while {v} trained" for v, x in crowded.items())
    return Finding(question, f"{numbers}; other processes took {took}",
                   f"inconclusive: a ranking in the same time needs the CPU to itself, and other processes took more "
                   f"than {100 * OTHER_WORK_LIMIT:.0f}% of it (the steps made in the time measure the contention)",
                   "nerf")


def _seeds_winner(over: dict[str, Any], blank: float | None, learned_rule: str) -> Finding:
    """Which variant wins over seeds: the best mean final PSNR among the variants that learned in every seed,
    against the baseline by the paired per-seed differences of final PSNR and their 95% interval (one seed's
    ranking would rest on one run's noise)."""
    finals, base = over["final_psnr"], over["baseline"]
    length, same = compare_budget(over)
    means = {v: sum(p) / len(p) for v, p in finals.items()}
    numbers = (f"mean final PSNR over seeds {', '.join(map(str, over['seeds']))}: "
               + ", ".join(f"{v} {m:.2f} dB" for v, m in means.items()) + f" after {length} each"
               + (f"; blank image {blank:.2f} dB" if blank is not None else ""))
    question = f"Which NeRF variant wins, and by how much, over {len(over['seeds'])} seeds?"
    if crowded := _crowded(over.get("others_cpu_share", {}), over, question, numbers):
        return crowded
    ok = [v for v, p in finals.items() if all(_learned(x, blank) for x in p)]
    if not ok:
        return Finding(question, numbers, f"inconclusive: no variant learned in every seed ({learned_rule})", "nerf")
    best = max(ok, key=means.__getitem__)
    if base not in finals or best == base:
        return Finding(question, numbers, f"inconclusive: no improvement beats the baseline {base} on average "
                                          f"({learned_rule})", "nerf")
    g = mean_interval([a - b for a, b in zip(finals[best], finals[base])])
    interval = interval_text(g["ci95"])
    if g["ci95"] is None:
        verdict = f"inconclusive: one seed has no spread to judge {best}'s {g['mean']:+.2f} dB by"
    elif g["ci95"][0] > 0:
        verdict = f"{best}: {g['mean']:+.2f} dB over {base} {same} on average, the 95% interval {interval} above zero"
        if base not in ok:
            verdict += f" ({base} did not learn in every seed)"
    else:
        verdict = f"inconclusive: {best} leads {base} by {g['mean']:+.2f} dB on average, the 95% interval {interval} " \
                  "includes zero"
    return Finding(question, numbers, f"{verdict} ({learned_rule})", "nerf")


def _retaken(row: dict[str, Any]) -> str:
    """``, N retaken`` for a run whose field went dark and had steps retaken with noise (revive_noise)."""
    revived = row.get("revived") or {}
    return f", {revived['steps']} retaken after going dark" if revived.get("steps") else ""


def _variant_finding(cmp: dict[str, Any], blank: float | None, learned_rule: str) -> Finding:
    """Which variant wins: only one that learned (see ``learned_rule``) with a curve that means something."""
    rows, base_name = cmp["variants"], cmp.get("baseline")
    points = cmp.get("probe_points", {})
    length, same = compare_budget(cmp)
    numbers = ", ".join(f"{v} {r['psnr']:.2f} dB ({r.get('iterations', '?')} it{_retaken(r)})"
                        for v, r in rows.items()) + \
        f" after {length} each" + (f"; blank image {blank:.2f} dB" if blank is not None else "")
    question = "Which NeRF variant wins, by how much, and how much sooner?"

    def meaningful(v: str) -> bool:
        return rows[v].get("iterations", 0) >= MIN_NERF_ITERATIONS and points.get(v, MIN_CURVE_POINTS) >= \
            MIN_CURVE_POINTS

    ok = [v for v in rows if _learned(rows[v]["psnr"], blank) and meaningful(v)]
    if not ok:
        return Finding(question, numbers, f"inconclusive: no variant learned with a meaningful curve ({learned_rule}; "
                                          f">= {MIN_NERF_ITERATIONS} iterations)", "nerf")
    best = max(ok, key=lambda v: rows[v]["psnr"])
    if base_name not in rows or best == base_name:
        return Finding(question, numbers, f"inconclusive: no improvement beats the baseline {base_name} "
                                          f"({learned_rule})", "nerf")
    if crowded := _crowded({v: [r.get("others_cpu_share")] for v, r in rows.items()}, cmp, question, numbers):
        return crowded
    base = rows[base_name]
    gain = rows[best]["psnr"] - base["psnr"]
    resolves, why = comparison_resolution(cmp)
    if gain < resolves:
        return Finding(question, numbers, f"inconclusive: {best} is within {resolves:.2g} dB of {base_name}{why}",
                       "nerf")
    verdict = f"{best}: +{gain:.1f} dB over {base_name} {same}"
    if not (_learned(base["psnr"], blank) and meaningful(base_name)):
        verdict += f" ({base_name} did not learn in this budget: {base['psnr']:.2f} dB, {base.get('iterations')} it)"
    elif speedup := rows[best].get("speedup_to_baseline_psnr"):
        verdict += (f", reaching the baseline's final PSNR {speedup:.1f}x sooner" if speedup >= 1 else
                    f", but taking {1 / speedup:.1f}x the baseline's time to reach its final PSNR")
    return Finding(question, numbers, verdict + f" ({learned_rule})", "nerf")


def findings(run_dir: Path) -> list[Finding]:
    """Every finding the run folder holds numbers for, in the order of the study."""
    out: list[Finding] = []
    summary = _json(run_dir / "cnn" / "summary.json")
    accuracy = {m["model"]: m for m in summary["models"]} if summary else {}
    gf = _json(run_dir / "gradflow" / "gradflow.json")
    if gf and (f := gradient_finding(gf)):
        out.append(f)
    land = run_dir / "landscape"
    metas = {p.name: m for p in sorted(land.iterdir()) if (p / "landscape.json").is_file()
             and (m := read_json(p / "landscape.json")).get("directions") != "pca"} if land.is_dir() else {}
    if (f := landscape_finding(metas, accuracy)):
        out.append(f)
    if summary:
        out.append(accuracy_finding(summary))
    check = _json(run_dir / "deform" / "check.json")
    if check:
        out += deform_findings(check, _json(run_dir / "deform" / "speed.json"))
    experiment = _json(run_dir / "deform" / "experiment" / "results.json")
    if experiment and (f := experiment_finding(experiment)):
        out.append(f)
    over = _json(run_dir / "nerf" / "compare" / "seeds.json")
    out += nerf_findings(_json(run_dir / "nerf" / "cross_scene.json"),
                         _json(compare_folder(run_dir / "nerf", over) / "compare.json"), over)
    return out

