"""The one place that words decisions (:mod:`neuralens.core.rules`): a verdict is its state, then what fired."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from neuralens.core.rules import Decision
from neuralens.core.stats import interval_text


def g(x: float) -> str:
    return f"{x:.3g}"


def span(values: list[float]) -> str:
    """``0.58..0.76`` (or the one value)."""
    return g(values[0]) if min(values) == max(values) else f"{g(min(values))}..{g(max(values))}"


def speed_words(ratio: float) -> str:
    """``2.3x faster`` / ``1.8x slower`` for a speed ratio (ours over theirs); never "0.1x slower"."""
    return f"{ratio:.1f}x faster" if ratio >= 1 else f"{1 / ratio:.1f}x slower"


def _learned_rule(e: dict[str, Any]) -> str:
    return f"learned = held-out PSNR at least {e['learned_db']} dB above the better blank image"


def _conditions(d: Decision) -> str:
    """A decision over conditions (:func:`rules.combine`, :func:`rules.depth_rule`), each condition worded by its
    own rule's kind."""
    parts = [f"{c}: {d2.state}, {_condition(d2)}" for c, d2 in d.evidence["conditions"].items()]
    text = ("the conditions disagree: " if d.rule == "disagree" else "") + "; ".join(parts)
    aside = [f"{c}: {d2.state}, {_condition(d2)}" for c, d2 in d.evidence.get("aside", {}).items()]
    return text + (f" (not voting: {'; '.join(aside)})" if aside else "")


#: what "apart" and "reversed" say for each kind of paired evidence (a residual net against its plain twin)
PAIRED = {"shortcut": ("the shortcut keeps the gradient nearer 1", "{plain_name} keeps its gradient nearer 1"),
          "curvature": ("the residual net's top Hessian eigenvalue is the lower: its loss is flatter",
                        "{plain_name}'s top Hessian eigenvalue is the lower")}


def _condition(d: Decision) -> str:
    """One condition's words: a difference of accuracies, or paired spreads (:data:`PAIRED`)."""
    e = d.evidence
    if e.get("kind") == "difference":
        return f"{e['a_name']} {e['a']:.4f} vs {e['b_name']} {e['b']:.4f}: " + TEMPLATES["difference"][d.rule](e, {})
    ranges = f"{e['plain_name']} {span(e['plain'])}, {e['res_name']} {span(e['res'])} over {e['n']} {e['unit']}"
    yes, reverse = PAIRED[e["kind"]]
    return {"thin": f"{e['n']} {e['unit']}, the rule needs {e['needed']} to see the spread",
            "apart": f"{yes} ({ranges})", "reversed": f"{reverse.format(**e)} ({ranges})",
            "overlap": f"the ranges overlap within {e['margin']}x ({ranges})"}[d.rule]


#: question -> rule -> words (given the decision's evidence and the finding's names)
TEMPLATES: dict[str, dict[str, Callable[[dict[str, Any], dict[str, str]], str]]] = {
    "flatter": {
        "undertrained": lambda e, n: "; ".join(e["weak"]),
        "thin": lambda e, n: f"{e['n']} direction seed(s); the rule needs {e['needed']} to see the spread",
        "overlap": lambda e, n: f"{n['a']} and {n['b']} overlap within {e['margin']}x across direction seeds",
        "measures_disagree": lambda e, n: "the measures disagree: the loss rise and the top Hessian eigenvalue "
                                          f"rank {n['a']} and {n['b']} opposite ways by {e['margin']}x",
        "apart": lambda e, n: f"{n['a']} rises {span(e['a'])} at radius 0.5 against {span(e['b'])} for {n['b']}, "
                              f"apart by {e['margin']}x over {e['n']} direction seeds",
    },
    "accuracy": {
        "chance": lambda e, n: f"{', '.join(e['chance'])} cannot be told from guessing among {e['classes']} classes "
                               "(rule: 3 standard errors above 1/classes); nothing below is about trained nets",
        "above_chance": lambda e, n: n["source"],
    },
    "difference": {
        "chance": lambda e, n: f"at least one net is at chance among {e['classes']} classes (rule: 3 standard errors "
                               "above 1/classes)",
        "within_noise": lambda e, n: f"the difference {e['diff']:+.4f} is within two standard errors "
                                     f"({e['two_se']:.4f}) of {e['n']} test images",
        "apart": lambda e, n: f"a difference of {e['diff']:+.4f}, beyond two standard errors ({e['two_se']:.4f})",
    },
    "speed": {
        "thin": lambda e, n: f"{len(e['rounds'])} timing round(s), the rule needs 3",
        "crowded": lambda e, n: f"other processes took {100 * e['others']:.0f}% of the CPU during the timing "
                                f"(> {100 * e['limit']:.0f}%): it timed the contention, not the op",
        "near_parity": lambda e, n: f"rounds {span(e['rounds'])}x: some within {e['margin']}x of parity",
        "apart": lambda e, n: f"{speed_words(sorted(e['rounds'])[len(e['rounds']) // 2])} (median of "
                              f"{len(e['rounds'])} interleaved rounds, each beyond {e['margin']}x of parity)",
    },
    "gain": {
        "not_learned": lambda e, n: f"every run must have learned ({_learned_rule(e)})",
        "within_noise": lambda e, n: f"{e['gain']:+.2f} dB is inside the {e['resolves']:.2g} dB a comparison "
                                     f"resolves{n.get('why', '')}",
        "apart": lambda e, n: f"{e['gain']:+.2f} dB",
        "one_seed": lambda e, n: "one seed has no spread to judge its gain by",
        "interval": lambda e, n: f"{e['gain']:+.2f} dB on average, 95% interval "
                                 f"{interval_text(e['ci95'])} dB",
    },
    "winner": {
        "winner": lambda e, n: f"{e['best']}, {e['gain']:+.2f} dB over {n['base']} at equal iterations",
        "none_better": lambda e, n: f"every variant's own rule says it does not beat {n['base']}",
        "none_decided": lambda e, n: f"no variant beats {n['base']} by its own rule (rows below)",
    },
    "adapts": {
        "not_learned": lambda e, n: f"the deformable net names {e['accuracy']:.2f} of the objects' cells in its "
                                    f"weakest seed, short of the stated {e['bar']:.2f}: offsets of an unfinished "
                                    "training say nothing about adaptation",
        "thin": lambda e, n: f"{len(e['rhos'])} training seed(s), the rule needs {e['needed']}",
        "grows": lambda e, n: f"the dilation grows with the object: rank correlation {e['mean']:+.2f} over "
                              f"{e['n']} seeds, 95% interval {interval_text(e['ci95'])}",
        "flat": lambda e, n: f"flat: rank correlation {e['mean']:+.2f}, 95% interval {interval_text(e['ci95'])} "
                             f"inside +-{e['flat']}",
        "wide": lambda e, n: f"rank correlation {e['mean']:+.2f}, 95% interval {interval_text(e['ci95'])}: neither "
                             f"above zero nor inside +-{e['flat']}",
    },
    "headroom": {
        "not_learned": lambda e, n: f"{n['variant']} did not learn ({_learned_rule(e)})",
        "lifts": lambda e, n: f"{n['more']} samples lift its render by {e['gain']:.1f} dB",
        "flat": lambda e, n: f"{n['more']} samples move its render by {e['gain']:+.2f} dB, less than {e['noise']} dB: "
                             "the field, not the sampling, limits it at this budget",
    },
    "cross_scene": {
        "not_learned": lambda e, n: f"the field did not learn its own scene ({_learned_rule(e)})",
        "worse": lambda e, n: f"{e['drop']:.1f} dB worse on the other scene: it renders the scene it was fitted to",
        "alike": lambda e, n: "the two scenes score alike",
    },
}


def verdict_text(question: str, d: Decision, **names: str) -> str:
    """``yes: ...`` / ``no: ...`` / ``inconclusive: ...`` for ``d``, the decision on ``question`` (a key of
    TEMPLATES, or ``conditions`` for a decision over conditions)."""
    words = _conditions(d) if question == "conditions" else TEMPLATES[question][d.rule](d.evidence, names)
    return f"{d.state}: {words}"
