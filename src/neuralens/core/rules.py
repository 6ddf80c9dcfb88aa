"""The study's questions as rules: each a small function from evidence (plain numbers) to a :class:`Decision`.

A decision is ``yes`` / ``no`` / ``inconclusive``, the name of the rule that fired and the numbers it used; the
words are :mod:`neuralens.core.wording`'s. Every comparison of two spreads goes through :func:`apart`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from neuralens.core.cpu_share import OTHER_WORK_LIMIT
from neuralens.core.stats import mean_interval

#: a landscape or gradient measure must differ by this factor (beyond the spread) before one model wins
MARGIN = 1.25
#: PSNR differences below this many dB are within the run-to-run noise of a short CPU training
PSNR_NOISE_DB = 0.5
#: a NeRF has learned when its held-out PSNR beats the better blank image by this many dB
LEARNED_DB = 1.5
#: seeds needed before a spread means anything: initialisations or batches (gradients), direction planes
MIN_SEEDS, MIN_DIRECTION_SEEDS = 3, 2
#: below this test accuracy a classifier is too undertrained for landscape claims
UNDERTRAINED = 0.5
#: a speed ratio must sit this far from parity in every timing round
NOISY_TIMING = 1.25


@dataclass(frozen=True)
class Decision:
    state: str  # yes | no | inconclusive
    rule: str  # which rule fired: a key of wording.TEMPLATES
    evidence: dict[str, Any] = field(default_factory=dict)


def apart(a: list[float], b: list[float], margin: float = 0.0, factor: bool = False) -> int:
    """+1 when every value of ``a`` is beyond every value of ``b`` by more than ``margin`` (a ratio when ``factor``),
    -1 for the reverse, 0 when the spreads come closer than that."""
    if factor:
        if min(a) > max(b) * margin:
            return 1
        return -1 if min(b) > max(a) * margin else 0
    if min(a) - max(b) > margin:
        return 1
    return -1 if min(b) - max(a) > margin else 0


def decades_from_one(ratio: float) -> float:
    """How many orders of magnitude a first/last gradient ratio is from 1 (0: no loss or gain with depth)."""
    return abs(math.log10(ratio)) if ratio > 0 and math.isfinite(ratio) else math.inf


def shortcut_rule(res: list[float], plain: list[float], **labels: str) -> Decision:
    """Does the shortcut keep the gradient nearer 1? yes: every plain ratio further from 1 (in decades) than every
    residual one by more than MARGIN; no: the reverse; inconclusive: overlap, or fewer than MIN_SEEDS values.
    ``labels`` (the nets' names, the unit of the values) travel with the evidence for the words."""
    ev = {"kind": "shortcut", "res": res, "plain": plain, "n": min(len(res), len(plain)), "needed": MIN_SEEDS,
          "margin": MARGIN, **labels}
    if ev["n"] < MIN_SEEDS:
        return Decision("inconclusive", "thin", ev)
    side = apart([decades_from_one(v) for v in plain], [decades_from_one(v) for v in res], math.log10(MARGIN))
    return Decision({1: "yes", -1: "no", 0: "inconclusive"}[side], {1: "apart", -1: "reversed", 0: "overlap"}[side], ev)


def combine(conditions: dict[str, Decision]) -> Decision:
    """One answer over conditions (with / without batch norm, at init / trained): yes where some condition says
    yes and none says no (the answer names its conditions), inconclusive where they point opposite ways."""
    states = {d.state for d in conditions.values()}
    state = "inconclusive" if {"yes", "no"} <= states else "yes" if "yes" in states else \
        "no" if "no" in states else "inconclusive"
    return Decision(state, "disagree" if {"yes", "no"} <= states else "conditions", {"conditions": conditions})


def curvature_rule(res: list[float], plain: list[float], **labels: str) -> Decision:
    """Is the residual net's loss flatter than its plain twin's, by the top Hessian eigenvalue? yes / no when every
    probe seed's value of one is beyond every value of the other by MARGIN; fewer than MIN_DIRECTION_SEEDS probe
    seeds, or overlap, is inconclusive."""
    ev = {"kind": "curvature", "res": res, "plain": plain, "n": min(len(res), len(plain)),
          "needed": MIN_DIRECTION_SEEDS, "margin": MARGIN, "unit": "probe seeds", **labels}
    if ev["n"] < MIN_DIRECTION_SEEDS:
        return Decision("inconclusive", "thin", ev)
    side = apart(plain, res, MARGIN, factor=True)
    return Decision({1: "yes", -1: "no", 0: "inconclusive"}[side], {1: "apart", -1: "reversed", 0: "overlap"}[side], ev)


def depth_rule(voting: dict[str, Decision], aside: dict[str, Decision]) -> Decision:
    """Does the shortcut matter at this depth? The nets as built (with batch norm) decide, by :func:`combine` over
    their conditions; ``aside`` (without batch norm) is stated with the answer, a condition of it, not a vote."""
    d = combine(voting)
    return Decision(d.state, d.rule, {"conditions": voting, "aside": aside})


def flatter_rule(rises_a: list[float], rises_b: list[float], eig_a: list[float], eig_b: list[float],
                 weak: list[str]) -> Decision:
    """Is A flatter than B? Loss rise at radius 0.5 over direction seeds, apart by MARGIN; the top Hessian
    eigenvalue pointing the other way by MARGIN makes it inconclusive; so do undertrained nets and one plane."""
    ev = {"a": rises_a, "b": rises_b, "n": min(len(rises_a), len(rises_b)), "needed": MIN_DIRECTION_SEEDS,
          "margin": MARGIN, "weak": weak}
    if weak:
        return Decision("inconclusive", "undertrained", ev)
    if ev["n"] < MIN_DIRECTION_SEEDS:
        return Decision("inconclusive", "thin", ev)
    side = apart(rises_b, rises_a, MARGIN, factor=True)
    if side == 0:
        return Decision("inconclusive", "overlap", ev)
    if eig_a and eig_b and apart(eig_a, eig_b, MARGIN, factor=True) == side:
        return Decision("inconclusive", "measures_disagree", ev)
    return Decision("yes" if side > 0 else "no", "apart", ev)


#: a rank correlation whose interval stays inside +-this is "flat": no relation worth the name
FLAT_CORRELATION = 0.2
#: the stated accuracy a deformable net must reach before its offsets are read (the default training reaches
#: 0.96-0.98 on every seed; the demo's shorter trainings, 0.31-0.83, left the correlations unsettled: BENCHMARKS.md)
TRAINED_ACCURACY = 0.9


def adapts_rule(rhos: list[float], accuracies: list[float]) -> Decision:
    """Does the receptive field adapt to the object's size? Over >= MIN_SEEDS training seeds, each seed's rank
    correlation of object scale and effective dilation: yes when the 95% interval of their mean lies above zero,
    no when it lies inside +-FLAT_CORRELATION (flat within the spread), else inconclusive. Offsets of a net short
    of TRAINED_ACCURACY in any seed (``accuracies``) say nothing either way: its training is unfinished."""
    ev: dict[str, Any] = {"kind": "adapts", "rhos": rhos, "needed": MIN_SEEDS, "flat": FLAT_CORRELATION,
                          "accuracy": min(accuracies), "bar": TRAINED_ACCURACY}
    if min(accuracies) < TRAINED_ACCURACY:
        return Decision("inconclusive", "not_learned", ev)
    if len(rhos) < MIN_SEEDS:
        return Decision("inconclusive", "thin", ev)
    ev.update(mean_interval(rhos))
    lo, hi = ev["ci95"]
    if lo > 0:
        return Decision("yes", "grows", ev)
    if -FLAT_CORRELATION < lo and hi < FLAT_CORRELATION:
        return Decision("no", "flat", ev)
    return Decision("inconclusive", "wide", ev)


def above_chance(accuracy: float, num_classes: int, n: int) -> bool:
    """Accuracy beyond what guessing gives, by three binomial standard errors of a guesser on ``n`` images."""
    p0 = 1 / max(num_classes, 1)
    return accuracy > p0 + 3 * math.sqrt(p0 * (1 - p0) / max(n, 1))


def accuracy_rule(acc: dict[str, float], num_classes: int, n: int) -> Decision:
    """Are the nets trained? yes when every one is above chance (:func:`above_chance`)."""
    chance = [m for m, a in acc.items() if not above_chance(a, num_classes, n)]
    return Decision("no" if chance else "yes", "chance" if chance else "above_chance",
                    {"chance": chance, "classes": num_classes})


def difference_rule(a: float, b: float, n: int, num_classes: int, **labels: str) -> Decision:
    """Does A score higher than B on ``n`` test images? Both above chance, the difference beyond two standard
    errors of a difference of two proportions. ``labels`` (the nets' names) travel with the evidence."""
    ev = {"kind": "difference", "a": a, "b": b, "diff": a - b, "n": n, "classes": num_classes, **labels}
    if not n or not (above_chance(a, num_classes, n) and above_chance(b, num_classes, n)):
        return Decision("inconclusive", "chance", ev)
    p = (a + b) / 2
    ev["two_se"] = 2 * math.sqrt(2 * p * (1 - p) / n)
    side = apart([a], [b], ev["two_se"])
    return Decision({1: "yes", -1: "no", 0: "inconclusive"}[side], "within_noise" if side == 0 else "apart", ev)


def speed_rule(rounds: list[float], others: float | None) -> Decision:
    """Is ours faster than the reference? Speed-ups of >= 3 interleaved rounds, every one beyond parity by
    NOISY_TIMING (either way), timed while other processes took at most OTHER_WORK_LIMIT of the CPU."""
    ev = {"rounds": rounds, "others": others, "limit": OTHER_WORK_LIMIT, "margin": NOISY_TIMING}
    if len(rounds) < 3:
        return Decision("inconclusive", "thin", ev)
    if others is not None and others > OTHER_WORK_LIMIT:
        return Decision("inconclusive", "crowded", ev)
    side = apart(rounds, [1.0], NOISY_TIMING, factor=True)
    return Decision({1: "yes", -1: "no", 0: "inconclusive"}[side], "near_parity" if side == 0 else "apart", ev)


def learned(psnr: float, blank: float | None) -> bool:
    return blank is None or psnr >= blank + LEARNED_DB


def gain_rule(gain: float, psnrs: list[float], blank: float | None, resolves: float = PSNR_NOISE_DB) -> Decision:
    """Does a NeRF variant beat the baseline after the same steps (one seed)? Every run learned; the gain
    beyond the resolution (PSNR_NOISE_DB, or the baseline's own fall late in its run when larger)."""
    ev = {"gain": gain, "resolves": resolves, "blank": blank, "learned_db": LEARNED_DB}
    if not all(learned(p, blank) for p in psnrs):
        return Decision("inconclusive", "not_learned", ev)
    side = apart([gain], [0.0], resolves - 1e-12)
    return Decision({1: "yes", -1: "no", 0: "inconclusive"}[side], "within_noise" if side == 0 else "apart", ev)


def seeds_gain_rule(gains: list[float], ci95: tuple[float, float] | None, psnrs: list[float],
                    blank: float | None) -> Decision:
    """The same over seeds: yes / no when the 95% interval of the mean paired gain lies above / below zero."""
    ev = {"gains": gains, "gain": sum(gains) / len(gains), "ci95": ci95, "blank": blank, "learned_db": LEARNED_DB}
    if not all(learned(p, blank) for p in psnrs):
        return Decision("inconclusive", "not_learned", ev)
    if ci95 is None:
        return Decision("inconclusive", "one_seed", ev)
    side = apart(list(ci95), [0.0])
    return Decision({1: "yes", -1: "no", 0: "inconclusive"}[side], "interval", ev)


def winner_rule(decisions: dict[str, Decision], gains: dict[str, float]) -> Decision:
    """Which variant wins at equal iterations: the largest gain among those whose own rule says yes; no when every
    variant's rule says no; else inconclusive."""
    winners = [v for v, d in decisions.items() if d.state == "yes"]
    if winners:
        best = max(winners, key=gains.__getitem__)
        return Decision("yes", "winner", {"best": best, "gain": gains[best]})
    if decisions and all(d.state == "no" for d in decisions.values()):
        return Decision("no", "none_better", {})
    return Decision("inconclusive", "none_decided", {"variants": list(decisions)})


def headroom_rule(gain: float, psnr: float, blank: float | None) -> Decision:
    """Could more samples lift the baseline's render? yes when they lift it by PSNR_NOISE_DB; no otherwise (the
    field, not the sampling, limits it); a field that did not learn says nothing."""
    ev = {"gain": gain, "noise": PSNR_NOISE_DB, "blank": blank, "learned_db": LEARNED_DB}
    if not learned(psnr, blank):
        return Decision("inconclusive", "not_learned", ev)
    return Decision("yes", "lifts", ev) if gain >= PSNR_NOISE_DB else Decision("no", "flat", ev)


def cross_scene_rule(own: float, other: float, blank: float | None) -> Decision:
    """Can a trained NeRF render another scene? no when it scores PSNR_NOISE_DB worse there than on its own."""
    ev = {"drop": own - other, "blank": blank, "learned_db": LEARNED_DB}
    if not learned(own, blank):
        return Decision("inconclusive", "not_learned", ev)
    return Decision("no", "worse", ev) if own - other > PSNR_NOISE_DB else Decision("inconclusive", "alike", ev)
