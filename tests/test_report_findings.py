"""Every verdict of the findings table follows its stated rule: decisions asserted on hand-made evidence (clear,
thin, noisy, contradicting), the wording once, and a whole run folder thinned until every row says inconclusive."""

from __future__ import annotations

from pathlib import Path

import pytest

from neuralens.core import rules
from neuralens.core.io import write_json
from neuralens.core.rules import Decision, apart
from neuralens.core.wording import speed_words, verdict_text
from neuralens.report.findings import findings, gradient_finding, landscape_finding, nerf_findings
from neuralens.report.html import table
from neuralens.report.sections import baseline_budget_sentence, precision_words


def _states(d: Decision) -> tuple[str, str]:
    return d.state, d.rule


def test_apart_is_every_value_beyond_every_other_by_the_margin() -> None:
    assert apart([3, 4], [1, 2], 0.5) == 1 and apart([1, 2], [3, 4], 0.5) == -1
    assert apart([2.4, 4], [1, 2], 0.5) == 0  # 2.4 - 2 = 0.4 < 0.5
    assert apart([2.6, 4], [1, 2], 1.25, factor=True) == 1 and apart([2.4, 4], [1, 2], 1.25, factor=True) == 0


# ------------------------------------------------------------------------------------------------ gradient flow
def test_the_shortcut_rule_decides_on_decades_from_one() -> None:
    assert _states(rules.shortcut_rule([0.8, 0.9, 0.85], [0.01, 0.02, 0.015])) == ("yes", "apart")
    assert _states(rules.shortcut_rule([0.01, 0.02, 0.015], [0.8, 0.9, 0.85])) == ("no", "reversed")
    assert _states(rules.shortcut_rule([0.2, 0.9, 0.5], [0.1, 0.6, 0.3])) == ("inconclusive", "overlap")
    assert _states(rules.shortcut_rule([0.9], [0.001])) == ("inconclusive", "thin")
    # an exploding gradient is as far from 1 as a vanishing one: 100x and 0.01x are both two decades away
    assert _states(rules.shortcut_rule([0.8, 0.9, 1.1], [100.0, 150.0, 90.0])) == ("yes", "apart")


def test_conditions_combine_into_one_answer() -> None:
    yes, no, thin = (rules.shortcut_rule([0.9] * 3, [0.01] * 3), rules.shortcut_rule([0.01] * 3, [0.9] * 3),
                     rules.shortcut_rule([0.9], [0.01]))
    assert rules.combine({"a": yes, "b": thin}).state == "yes"
    assert _states(rules.combine({"a": yes, "b": no})) == ("inconclusive", "disagree")
    assert rules.combine({"a": thin}).state == "inconclusive" and rules.combine({"a": no}).state == "no"


def _gf(seeds: dict[str, list[float]], trained: dict[str, list[float]] | None = None) -> dict:
    """A gradflow.json with first/last block-input ratios per seed at init and per real batch when trained."""
    models = {}
    for name, values in seeds.items():
        rows = [{"seed": i, "summary": {"first_to_last_block_input_grad": v}} for i, v in enumerate(values)]
        models[f"{name}@init" if trained else name] = {"summary": rows[0]["summary"], "seeds": rows}
    for name, values in (trained or {}).items():
        models[name] = {"summary": {"first_to_last_block_input_grad": sum(values) / len(values)},
                        "per_batch_first_to_last_block_input_grad": values}
    return {"models": models}


def test_the_gradient_finding_reads_each_condition_from_its_nets() -> None:
    """With batch norm: ResNet18 vs Plain18 at init and trained; without: ResNet18 vs VGG16 at init (the quick
    demo's VGG16 0.0097..0.0137 against ResNet18 0.58..0.76)."""
    f = gradient_finding(_gf({"resnet18": [0.58, 0.7, 0.76], "plain18": [0.6, 0.7, 0.8],
                              "vgg16": [0.0097, 0.011, 0.0137]}))
    conds = f.decision.evidence["conditions"]
    assert {c: d.state for c, d in conds.items()} == {"with batch norm, at initialisation": "inconclusive",
                                                      "without batch norm (VGG16), at initialisation": "yes"}
    assert f.decision.state == "yes" and "vgg16 0.0097..0.0137" in f.numbers
    g = gradient_finding(_gf({"resnet18": [0.6, 0.7, 0.75], "plain18": [0.85, 0.9, 0.88]},
                             {"resnet18": [0.35, 0.4, 0.3, 0.38], "plain18": [0.07, 0.08, 0.06, 0.075]}))
    assert [d.state for d in g.decision.evidence["conditions"].values()] == ["inconclusive", "yes"]
    assert "trained: resnet18 0.3..0.4" in g.numbers


# ------------------------------------------------------------------------------------------------ landscapes
def test_the_flatness_rule() -> None:
    assert _states(rules.flatter_rule([0.2, 0.25], [0.6, 0.7], [10], [30], [])) == ("yes", "apart")
    assert _states(rules.flatter_rule([0.6, 0.7], [0.2, 0.25], [], [], [])) == ("no", "apart")
    assert _states(rules.flatter_rule([0.2, 0.6], [0.5, 0.7], [], [], [])) == ("inconclusive", "overlap")
    assert _states(rules.flatter_rule([0.5, 0.52], [0.55, 0.56], [], [], [])) == ("inconclusive", "overlap")
    assert _states(rules.flatter_rule([0.2], [0.9], [], [], [])) == ("inconclusive", "thin")
    assert _states(rules.flatter_rule([0.2, 0.25], [0.6, 0.7], [50], [10], [])) == ("inconclusive",
                                                                                    "measures_disagree")
    assert _states(rules.flatter_rule([0.2, 0.25], [0.6, 0.7], [], [], ["weak"])) == ("inconclusive", "undertrained")


def _land(rises: list[float], hess: float | None = None) -> dict:
    sharp = {"mean_rise_r0.5": sum(rises) / len(rises), "per_direction_seed": [{"mean_rise_r0.5": r} for r in rises]}
    if hess is not None:
        sharp["top_hessian_eigenvalue"] = hess
    return {"sharpness": sharp}


def test_an_undertrained_net_makes_the_landscape_finding_inconclusive() -> None:
    f = landscape_finding({"resnet18": _land([0.2, 0.25]), "plain18": _land([0.6, 0.7])},
                          {"resnet18": {"accuracy": 0.12}, "plain18": {"accuracy": 0.9}})
    assert _states(f.decision) == ("inconclusive", "undertrained") and "0.120 < 0.5" in f.verdict


# ------------------------------------------------------------------------------------------------ classifiers, deform
def test_accuracy_and_difference_rules() -> None:
    assert not rules.above_chance(0.1016, 10, 256) and rules.above_chance(0.5, 10, 256)
    assert _states(rules.accuracy_rule({"a": 0.0977, "b": 0.9}, 10, 256)) == ("no", "chance")
    assert rules.accuracy_rule({"a": 0.88, "b": 0.9}, 10, 256).state == "yes"
    assert _states(rules.difference_rule(0.1016, 0.0977, 256, 10)) == ("inconclusive", "chance")
    assert _states(rules.difference_rule(0.62, 0.60, 256, 10)) == ("inconclusive", "within_noise")
    assert _states(rules.difference_rule(0.70, 0.60, 5000, 10)) == ("yes", "apart")
    assert _states(rules.difference_rule(0.60, 0.70, 5000, 10)) == ("no", "apart")


def test_the_speed_rule() -> None:
    assert _states(rules.speed_rule([5.9, 6.0, 6.2], None)) == ("yes", "apart")
    assert _states(rules.speed_rule([7.47, 8.5, 9.76], 0.02)) == ("yes", "apart")  # noisy, all far beyond parity
    assert _states(rules.speed_rule([0.14, 0.143, 0.15], None)) == ("no", "apart")
    assert _states(rules.speed_rule([1.2, 1.5, 2.0], None)) == ("inconclusive", "near_parity")
    assert _states(rules.speed_rule([3.0], None)) == ("inconclusive", "thin")
    # steady rounds beside two busy loops time the contention (quick demo: 0.123x..0.146x, idle 5.8x)
    assert _states(rules.speed_rule([0.123, 0.13, 0.146], 0.98)) == ("inconclusive", "crowded")


# ------------------------------------------------------------------------------------------------ NeRF
def test_the_nerf_rules() -> None:
    assert _states(rules.gain_rule(0.6, [23.1, 22.5], 11.0)) == ("yes", "apart")
    assert _states(rules.gain_rule(-0.61, [21.9, 22.5], 11.0)) == ("no", "apart")
    assert _states(rules.gain_rule(0.24, [22.7, 22.5], 11.0)) == ("inconclusive", "within_noise")
    assert _states(rules.gain_rule(0.8, [20.3, 19.5], 11.0, resolves=0.9)) == ("inconclusive", "within_noise")
    assert _states(rules.gain_rule(9.3, [20.3, 11.0], 11.0)) == ("inconclusive", "not_learned")
    assert _states(rules.seeds_gain_rule([0.3, 0.25, 0.35], (0.18, 0.42), [22.0] * 6, 11.0)) == ("yes", "interval")
    assert _states(rules.seeds_gain_rule([0.3, -0.4, 0.3], (-0.8, 0.9), [22.0] * 6, 11.0)) == ("inconclusive",
                                                                                              "interval")
    assert _states(rules.seeds_gain_rule([0.3], None, [22.0] * 2, 11.0)) == ("inconclusive", "one_seed")
    yes, no = rules.gain_rule(0.6, [23, 22], None), rules.gain_rule(-0.6, [22, 23], None)
    assert rules.winner_rule({"a": yes, "b": rules.gain_rule(1.0, [23, 22], None)}, {"a": 0.6, "b": 1.0}
                             ).evidence["best"] == "b"
    assert rules.winner_rule({"a": no}, {"a": -0.6}).state == "no"
    assert rules.winner_rule({"a": no, "b": rules.gain_rule(0.1, [22, 22], None)}, {"a": -0.6, "b": 0.1}
                             ).state == "inconclusive"
    assert _states(rules.headroom_rule(1.2, 22.0, 11.0)) == ("yes", "lifts")
    assert _states(rules.headroom_rule(0.07, 22.0, 11.0)) == ("no", "flat")
    assert _states(rules.headroom_rule(0.0, 11.2, 11.0)) == ("inconclusive", "not_learned")
    assert _states(rules.cross_scene_rule(25.0, 11.0, 12.0)) == ("no", "worse")
    assert _states(rules.cross_scene_rule(12.5, 11.0, 12.0)) == ("inconclusive", "not_learned")


def _cmp(**variants: tuple[float, float | None]) -> dict:
    """A compare.json: per variant its final PSNR and its gain at equal iterations (None: the baseline)."""
    rows = {}
    for v, (psnr, gain) in variants.items():
        views = None if gain is None else {"iterations": 400, "psnr": psnr, "ssim": 0.7, "baseline_psnr": psnr - gain,
                                           "baseline_ssim": 0.7, "gain_db": gain}
        rows[v] = {"psnr": psnr, "ssim": 0.7, "iterations": 400, "test_views_at_equal_iterations": views,
                   "time_to_baseline_final_psnr_s": 20.0 if gain else 60.0, "others_cpu_share": 0.03}
    return {"baseline": "tiny", "seconds_budget": 60, "iters_budget": None, "blank_psnr": {"best": 11.0},
            "baseline_final_probe_psnr": 21.0, "variants": rows}


def test_the_nerf_winner_is_the_best_variant_its_own_rule_says_yes_to() -> None:
    rows = nerf_findings(None, _cmp(tiny=(22.0, None), fast=(26.0, 4.0), tiny_hier=(22.2, 0.2)))
    assert [r.decision.state for r in rows] == ["yes", "yes", "inconclusive"]
    assert rows[0].decision.evidence["best"] == "fast"
    assert "seconds to reach tiny's final probe PSNR 21.00 dB: tiny 60 s (3% of the CPU to others), fast 20 s" in \
        rows[0].numbers


def test_the_wording_is_the_state_then_what_fired() -> None:
    assert speed_words(6.53) == "6.5x faster" and speed_words(1 / 7) == "7.0x slower"
    assert verdict_text("speed", rules.speed_rule([5.9, 6.0, 6.2], None)) == \
        "yes: 6.0x faster (median of 3 interleaved rounds, each beyond 1.25x of parity)"
    assert verdict_text("gain", rules.gain_rule(0.3, [22, 22], None, resolves=0.9), why=" (a fall)") == \
        "inconclusive: +0.30 dB is inside the 0.9 dB a comparison resolves (a fall)"
    d = rules.combine({"at init": rules.shortcut_rule([0.9] * 3, [0.01] * 3, res_name="R", plain_name="P",
                                                      unit="seeds")})
    assert verdict_text("conditions", d) == "yes: at init: yes, the shortcut keeps the gradient nearer 1 (P 0.01, R " \
                                          "0.9 over 3 seeds)"
    for question, by_rule in __import__("neuralens.core.wording", fromlist=["TEMPLATES"]).TEMPLATES.items():
        assert by_rule, question


# ------------------------------------------------------------------------------------------------ a run folder
def _write(root: Path, rel: str, data: dict) -> None:
    (root / rel).parent.mkdir(parents=True, exist_ok=True)
    write_json(root / rel, data)


@pytest.mark.parametrize("doctored", [False, True])
def test_a_doctored_thin_run_folder_gets_inconclusive_everywhere(tmp_path: Path, doctored: bool) -> None:
    """The same run folder twice: with full evidence it decides, with its evidence thinned (one seed, one plane,
    one timing round, a NeRF that stayed at the blank image) every such row says inconclusive."""
    seeds = 1 if doctored else 3
    _write(tmp_path, "gradflow/gradflow.json", _gf({"resnet18": [0.9] * seeds, "plain18": [0.01] * seeds}))
    rises = {"resnet18": [0.2] * (1 if doctored else 2), "plain18": [0.8] * (1 if doctored else 2)}
    for name, r in rises.items():
        _write(tmp_path, f"landscape/{name}/landscape.json", _land(r, 10.0 if name == "resnet18" else 40.0))
    _write(tmp_path, "cnn/summary.json", {"data": "d", "num_classes": 10, "models": [
        {"model": m, "accuracy": 0.9, "n_test": 1000, "shipped": True, "card_accuracy": 0.9, "card_n_test": 10000}
        for m in ("resnet18", "plain18")]})
    _write(tmp_path, "deform/check.json", {"worst": 1e-7, "cases": [{}] * 4})
    _write(tmp_path, "deform/speed.json", {"speedup_vs_torchvision": 5.0,
                                           "speedup_per_round": [5.0] if doctored else [4.9, 5.0, 5.1]})
    _write(tmp_path, "nerf/compare/compare.json",
           _cmp(tiny=(11.0, None), fast=(11.9, 0.9)) if doctored else _cmp(tiny=(14.0, None), fast=(26.0, 12.0)))
    states = {f.question: f.decision.state for f in findings(tmp_path)}
    assert len(states) == 7, states
    thin = [q for q, s in states.items() if s == "inconclusive"]
    if doctored:
        assert len(thin) == 5, states  # gradients, flatness, speed, the NeRF winner and its gain
    else:
        assert thin == [], states


def test_the_report_says_how_much_training_the_baseline_got() -> None:
    row = {"iterations": 410, "iterations_per_s": 2.2777, "images_of_rays": 41.984, "seconds": 180.01}
    text = baseline_budget_sentence(row)
    assert "410 iterations in 180.0 s (2.28 it/s), 42.0 images' worth of rays" in text
    assert "1000 iterations of one whole image" in text


def test_the_report_says_which_variants_trained_in_bfloat16() -> None:
    mixed = precision_words({"tiny": "bf16", "tiny_hier": "bf16", "fast": "fp32"})
    assert mixed == ("; training steps in bfloat16 for tiny, tiny_hier (float32 for fast), every score rendered "
                     "in float32")
    assert precision_words({"tiny": "fp32"}) == ""
    assert precision_words({"tiny": "fp32+bf16", "fast": "fp32"}) == (
        "; training steps partly in bfloat16 for tiny (resumed in the other precision) (float32 for fast), every "
        "score rendered in float32")


def test_a_table_cell_without_a_value_reads_as_a_dash_not_as_python() -> None:
    cells = table(["variant", "gain"], [["tiny", None], ["tiny_hier", 0.25], ["fast", True]])
    assert "<td>-</td>" in cells and "None" not in cells  # (as the tables write a missing value elsewhere)
    assert "<td>0.25</td>" in cells and "<td>True</td>" in cells
