"""Every verdict of the findings table follows its stated rule: on hand-made run folders with clear, thin, noisy
and contradicting evidence, it names a winner only when the evidence carries one."""

from __future__ import annotations

from pathlib import Path

import pytest

from neuralens.core.io import write_json
from neuralens.report.findings import (
    above_chance,
    accuracy_finding,
    deform_findings,
    experiment_finding,
    findings,
    gradient_finding,
    landscape_finding,
    nerf_findings,
    speed_words,
)
from neuralens.report.html import table
from neuralens.report.sections import baseline_budget_sentence, precision_words


# ------------------------------------------------------------------------------------------------ gradient flow
def _gf(seeds: dict[str, list[float]], trained: dict[str, list[float]] | None = None) -> dict:
    """A gradflow.json with first/last block-input ratios per seed at init and per real batch when trained."""
    models = {}
    for name, values in seeds.items():
        rows = [{"seed": i, "summary": {"first_to_last_block_input_grad": v}} for i, v in enumerate(values)]
        models[f"{name}@init"] = {"summary": rows[0]["summary"], "seeds": rows}
    for name, values in (trained or {}).items():
        models[name] = {"summary": {"first_to_last_block_input_grad": sum(values) / len(values)},
                        "per_batch_first_to_last_block_input_grad": values}
    return {"models": models}


def test_shortcut_yes_only_when_the_ranges_are_apart() -> None:
    clear = gradient_finding(_gf({"resnet18": [0.8, 0.9, 0.85], "plain18": [0.01, 0.02, 0.015],
                                  "vgg16_bn": [0.3, 0.4, 0.35]}))
    assert clear.verdict.startswith("yes, at initialisation: the shortcut") and "over 3 seeds" in clear.verdict
    assert "vgg16_bn 0.3..0.4" in clear.numbers
    overlap = gradient_finding(_gf({"resnet18": [0.2, 0.9, 0.5], "plain18": [0.1, 0.6, 0.3]}))
    assert overlap.verdict.startswith("inconclusive: at initialisation: inconclusive, the ranges overlap")
    against = gradient_finding(_gf({"resnet18": [0.01, 0.02, 0.015], "plain18": [0.8, 0.9, 0.85]}))
    assert against.verdict.startswith("no, not in this run")


def test_shortcut_weighs_init_seeds_and_trained_batches() -> None:
    # overlapping at init, clearly apart after training (over real batches): yes, naming the condition
    gf = _gf({"resnet18": [0.6, 0.7, 0.75], "plain18": [0.85, 0.9, 0.88]},
             {"resnet18": [0.35, 0.4, 0.3, 0.38], "plain18": [0.07, 0.08, 0.06, 0.075], "vgg16_bn": [0.001] * 4})
    f = gradient_finding(gf)
    assert f.verdict.startswith("yes, trained: the shortcut keeps") and "at initialisation: inconclusive" in f.verdict
    assert "over 4 real batches" in f.verdict and "trained: resnet18 0.3..0.4" in f.numbers
    # the two conditions pointing opposite ways are not a yes
    gf = _gf({"resnet18": [0.9, 0.95, 0.92], "plain18": [0.01, 0.02, 0.015]},
             {"resnet18": [0.01, 0.02, 0.015], "plain18": [0.9, 0.95, 0.92]})
    assert gradient_finding(gf).verdict.startswith("inconclusive: the conditions disagree")


def test_shortcut_thin_evidence_is_inconclusive() -> None:
    one_seed = gradient_finding(_gf({"resnet18": [0.9], "plain18": [0.001]}))
    assert one_seed.verdict.startswith("inconclusive: at initialisation: inconclusive (1 seeds")
    # VGG16 without BN is not the control: without plain18 the question stays open
    no_control = gradient_finding(_gf({"resnet18": [0.9, 0.9, 0.9], "vgg16": [1e-4, 1e-4, 1e-4]}))
    assert no_control.verdict.startswith("inconclusive: needs resnet18 and plain18")


def test_shortcut_accepts_runs_without_weights() -> None:
    # keys without @init when no model had weights (neuralens gradflow on its own)
    gf = {"models": {n: {"summary": {"first_to_last_block_input_grad": v[0]},
                         "seeds": [{"summary": {"first_to_last_block_input_grad": x}} for x in v]}
                     for n, v in {"resnet18": [0.9, 0.8, 0.85], "plain18": [0.01, 0.02, 0.03]}.items()}}
    assert gradient_finding(gf).verdict.startswith("yes")


# ------------------------------------------------------------------------------------------------ landscapes
def _land(rises: list[float], hess: float | None = None) -> dict:
    sharp = {"mean_rise_r0.5": sum(rises) / len(rises), "per_direction_seed": [{"mean_rise_r0.5": r} for r in rises]}
    if hess is not None:
        sharp["top_hessian_eigenvalue"] = hess
    return {"sharpness": sharp}


ACC = {"resnet18": {"accuracy": 0.9}, "plain18": {"accuracy": 0.88}}


def test_flatness_needs_separated_direction_seed_ranges() -> None:
    apart = landscape_finding({"resnet18": _land([0.2, 0.25], 10), "plain18": _land([0.6, 0.7], 30)}, ACC)
    assert apart.verdict.startswith("resnet18 is flatter than plain18") and "2 direction seeds" in apart.verdict
    overlap = landscape_finding({"resnet18": _land([0.2, 0.6], 10), "plain18": _land([0.5, 0.7], 30)}, ACC)
    assert overlap.verdict.startswith("inconclusive") and "overlap" in overlap.verdict
    close = landscape_finding({"resnet18": _land([0.5, 0.52]), "plain18": _land([0.55, 0.56])}, ACC)
    assert close.verdict.startswith("inconclusive")  # apart, but by less than 25%


def test_flatness_thin_or_contradicting_evidence() -> None:
    one = landscape_finding({"resnet18": _land([0.2]), "plain18": _land([0.9])}, ACC)
    assert one.verdict.startswith("inconclusive: 1 direction seed")
    disagree = landscape_finding({"resnet18": _land([0.2, 0.25], 50), "plain18": _land([0.6, 0.7], 10)}, ACC)
    assert disagree.verdict.startswith("inconclusive: the measures disagree")
    weak = landscape_finding({"resnet18": _land([0.2, 0.25]), "plain18": _land([0.6, 0.7])},
                             {"resnet18": {"accuracy": 0.12}, "plain18": {"accuracy": 0.9}})
    assert weak.verdict.startswith("inconclusive: resnet18 reached test accuracy 0.120")


# ------------------------------------------------------------------------------------------------ classifiers
def test_chance_level_classifiers_are_inconclusive() -> None:
    assert not above_chance(0.1016, 10, 256) and above_chance(0.5, 10, 256)
    at_chance = {"data": "x", "num_classes": 10, "models": [
        {"model": "small_cnn", "accuracy": 0.0977, "n_test": 256, "trained_here": True},
        {"model": "small_dcn", "accuracy": 0.1016, "n_test": 256, "trained_here": True}]}
    assert accuracy_finding(at_chance).verdict.startswith("at chance level")
    exp = {"epochs": 1, "num_classes": 10, "n_test": 256,
           "models": {"small_cnn": {"accuracy": 0.0977}, "small_dcn": {"accuracy": 0.1016}}}
    assert experiment_finding(exp).verdict.startswith("inconclusive: at least one net is at chance")
    close = {**exp, "models": {"small_cnn": {"accuracy": 0.60}, "small_dcn": {"accuracy": 0.62}}}
    assert experiment_finding(close).verdict.startswith("inconclusive: the difference +0.0200")
    clear = {**exp, "n_test": 5000, "models": {"small_cnn": {"accuracy": 0.60}, "small_dcn": {"accuracy": 0.70}}}
    assert experiment_finding(clear).verdict.startswith("yes: the deformable net scores 0.1000 higher")


# ------------------------------------------------------------------------------------------------ deform speed
def test_speed_is_worded_as_faster_or_slower() -> None:
    assert speed_words(6.53) == "6.5x faster" and speed_words(1 / 7) == "7.0x slower"
    check = {"worst": 1e-7, "cases": [{}] * 4}
    steady = {"speedup_vs_torchvision": 6.0, "speedup_per_round": [5.9, 6.0, 6.2, 6.1, 6.0]}
    assert "6.0x faster than torchvision (median of 5" in deform_findings(check, steady)[0].verdict
    slow = {"speedup_vs_torchvision": 1 / 7, "speedup_per_round": [0.14, 0.143, 0.15]}
    verdict = deform_findings(check, slow)[0].verdict
    assert "7.0x slower" in verdict and "0.1x" not in verdict
    noisy = {"speedup_vs_torchvision": 3.0, "speedup_per_round": [1.0, 3.0, 6.0]}
    assert "speed inconclusive: a noisy run" in deform_findings(check, noisy)[0].verdict
    near_parity = {"speedup_vs_torchvision": 1.5, "speedup_per_round": [1.2, 1.5, 2.0]}  # one round within noise
    assert "speed inconclusive: a noisy run" in deform_findings(check, near_parity)[0].verdict
    # noisy, yet every round far beyond the noise in one direction (the full demo's idle run: 7.47x..9.76x)
    ahead = deform_findings(check, {"speedup_vs_torchvision": 8.5, "speedup_per_round": [7.47, 8.5, 9.76]})[0]
    assert "at least 7.5x faster than torchvision in every one of 3 interleaved rounds" in ahead.verdict
    assert "imprecise (the rounds disagree by 31% > 25%" in ahead.verdict and "inconclusive" not in ahead.verdict
    behind = deform_findings(check, {"speedup_vs_torchvision": 0.1, "speedup_per_round": [0.05, 0.1, 0.2]})[0]
    assert "at least 5.0x slower than torchvision in every one" in behind.verdict
    thin = {"speedup_vs_torchvision": 3.0, "speedup_per_round": [3.0]}
    assert "speed inconclusive: 1 timing round" in deform_findings(check, thin)[0].verdict
    # steady rounds taken while other processes held the CPU (the quick demo beside two busy loops: 0.123x..0.146x,
    # where the idle op is 5.8x faster) time the contention; a run that did not measure the share is judged as before
    crowded = {"speedup_vs_torchvision": 0.128, "speedup_per_round": [0.123, 0.13, 0.146], "others_cpu_share": 0.98}
    row = deform_findings(check, crowded)[0]
    assert "speed inconclusive: other processes took 98% of the CPU during the timing (> 25%)" in row.verdict
    assert "slower than torchvision (median" not in row.verdict and "took 98% of the CPU meanwhile" in row.numbers
    alone = deform_findings(check, {**steady, "others_cpu_share": 0.02})[0]
    assert "6.0x faster than torchvision (median of 5" in alone.verdict and "took 2% of the CPU" in alone.numbers


# ------------------------------------------------------------------------------------------------ NeRF
def _cmp(**variants: tuple[float, int]) -> dict:
    return {"baseline": "tiny", "best": max(variants, key=lambda v: variants[v][0]), "seconds_budget": 60,
            "blank_psnr": {"best": 11.0}, "probe_points": {v: 5 for v in variants},
            "variants": {v: {"psnr": p, "ssim": 0.75, "iterations": it, "speedup_to_baseline_psnr": None}
                         for v, (p, it) in variants.items()}}


def test_a_nerf_winner_must_have_learned() -> None:
    black = nerf_findings(None, _cmp(tiny=(11.5, 5), fast=(12.0, 2)))[0]  # both at the blank image: thin
    assert black.verdict.startswith("inconclusive: no variant learned")
    win = nerf_findings(None, _cmp(tiny=(14.0, 80), fast=(26.0, 600)))[0]
    assert win.verdict.startswith("fast: +12.0 dB over tiny") and "learned = held-out PSNR at least 1.5 dB" in \
        win.verdict
    baseline_blank = nerf_findings(None, _cmp(tiny=(11.2, 3), fast=(24.0, 300)))[0]
    assert baseline_blank.verdict.startswith("fast: +12.8 dB") and "tiny did not learn in this budget" in \
        baseline_blank.verdict
    close = nerf_findings(None, _cmp(tiny=(20.0, 80), fast=(20.2, 90)))[0]
    assert close.verdict.startswith("inconclusive: fast is within 0.5 dB")
    swinging = {**_cmp(tiny=(19.12, 362), tiny_viewdirs=(19.84, 323)), "baseline_test_fall_db": 0.8}
    assert nerf_findings(None, swinging)[0].verdict.startswith(
        "inconclusive: tiny_viewdirs is within 0.8 dB of tiny (the baseline's own test PSNR fell 0.80 dB")
    crowded = _cmp(tiny=(14.0, 80), fast=(26.0, 600))
    crowded["variants"]["fast"]["others_cpu_share"] = 0.5  # two busy loops beside fast's 60 s on 2 cores
    row = nerf_findings(None, crowded)[0]
    assert row.verdict.startswith("inconclusive: a ranking in the same time needs the CPU to itself")
    assert "other processes took 50% while fast trained" in row.numbers
    crowded["variants"]["fast"]["others_cpu_share"] = 0.03  # background noise: the ranking stands
    assert nerf_findings(None, crowded)[0].verdict.startswith("fast: +12.0 dB over tiny")
    crowded.update(seconds_budget=None, iters_budget=600)  # equal iterations: the steps do not depend on the load
    crowded["variants"]["fast"]["others_cpu_share"] = 0.5
    assert nerf_findings(None, crowded)[0].verdict.startswith("fast: +12.0 dB over tiny at equal iterations")
    few_iters = nerf_findings(None, _cmp(tiny=(11.0, 3), fast=(16.0, 4)))[0]  # above blank, but 4 iterations
    assert few_iters.verdict.startswith("inconclusive: no variant learned with a meaningful curve")


def test_a_comparison_at_equal_iterations_is_reported_as_one() -> None:
    """An iteration budget (``nerf compare --iters``) ranks the variants at equal iterations, not in equal time."""
    steps = {**_cmp(tiny=(22.0, 2000), tiny_hier=(22.6, 2000)), "seconds_budget": None, "iters_budget": 2000}
    found = nerf_findings(None, steps)[0]
    assert found.numbers.startswith("tiny 22.00 dB (2000 it), tiny_hier 22.60 dB (2000 it) after 2000 iterations each")
    assert found.verdict.startswith("tiny_hier: +0.6 dB over tiny at equal iterations")
    timed = nerf_findings(None, _cmp(tiny=(22.0, 900), tiny_hier=(22.6, 450)))[0]
    assert "after 60 s each" in timed.numbers and "over tiny in the same time" in timed.verdict
    steps["variants"]["tiny_hier"]["speedup_to_baseline_psnr"] = 0.77  # better per step, slower per second
    assert "but taking 1.3x the baseline's time to reach its final PSNR" in nerf_findings(None, steps)[0].verdict
    steps["variants"]["tiny_hier"]["speedup_to_baseline_psnr"] = 2.0
    assert "reaching the baseline's final PSNR 2.0x sooner" in nerf_findings(None, steps)[0].verdict
    steps["variants"]["tiny_hier"]["revived"] = {"steps": 8, "first": 18, "last": 25}  # its field went dark once
    assert "tiny_hier 22.60 dB (2000 it, 8 retaken after going dark)" in nerf_findings(None, steps)[0].numbers


def test_each_improvement_is_judged_against_the_baseline_after_the_same_training() -> None:
    """After an iteration budget the test views decide; after a time budget only a probe curve that separates."""
    steps = {**_cmp(tiny=(22.51, 2000), tiny_hier=(22.75, 2000)), "seconds_budget": None, "iters_budget": 2000}
    probes = {"images": 51.2, "probes": 80, "ahead": 53, "mean_gain_db": 0.2}
    steps["variants"]["tiny_hier"]["at_equal_iterations"] = probes
    steps["variants"]["tiny_hier"]["ssim"] = 0.814
    close = nerf_findings(None, steps)[1]
    assert close.question == "Does tiny_hier beat tiny after the same training?"
    assert close.numbers.startswith("test views after 2000 iterations each: tiny_hier 22.75 dB (SSIM 0.814), tiny "
                                    "22.51 dB (SSIM 0.750) (+0.24 dB); probe view ahead at 53 of 80 probes (+0.20 dB "
                                    "on average)")
    assert close.verdict == "inconclusive: +0.24 dB is inside the 0.5 dB a comparison resolves"
    steps["variants"]["tiny_hier"]["psnr"] = 23.11
    assert nerf_findings(None, steps)[1].verdict == "yes: +0.60 dB"
    steps["variants"]["tiny_hier"]["psnr"] = 21.9
    assert nerf_findings(None, steps)[1].verdict == "no: -0.61 dB"
    timed = _cmp(tiny=(20.25, 462), tiny_viewdirs=(20.35, 436))  # scored after different training: the probe
    timed["variants"]["tiny_viewdirs"]["at_equal_iterations"] = {"images": 11.2, "probes": 18, "ahead": 15,
                                                                 "mean_gain_db": 0.35}
    assert nerf_findings(None, timed)[1].verdict.startswith("inconclusive: +0.35 dB is inside the 0.5 dB")
    timed["variants"]["tiny_viewdirs"]["at_equal_iterations"]["mean_gain_db"] = 0.6
    assert nerf_findings(None, timed)[1].verdict == "yes: +0.60 dB"
    timed["variants"]["tiny_viewdirs"]["at_equal_iterations"]["ahead"] = 9  # a mean carried by a few probes
    assert "but ahead at only 9 of 18 probes" in nerf_findings(None, timed)[1].verdict
    # a time budget whose baseline was also scored at the variant's step count: the test views decide, whatever
    # the probe curve says
    timed["variants"]["tiny_viewdirs"]["test_views_at_equal_iterations"] = {
        "iterations": 436, "psnr": 20.35, "ssim": 0.67, "baseline_psnr": 20.05, "baseline_ssim": 0.66, "gain_db": 0.3}
    scored = nerf_findings(None, timed)[1]
    assert scored.numbers.startswith("test views after 436 iterations each: tiny_viewdirs 20.35 dB (SSIM 0.670), "
                                     "tiny 20.05 dB (SSIM 0.660) (+0.30 dB); probe view ahead at 9 of 18")
    assert scored.verdict == "inconclusive: +0.30 dB is inside the 0.5 dB a comparison resolves"
    timed["variants"]["tiny_viewdirs"]["test_views_at_equal_iterations"].update(baseline_psnr=19.55, gain_db=0.8)
    assert nerf_findings(None, timed)[1].verdict == "yes: +0.80 dB"
    timed["variants"]["tiny_viewdirs"]["at_equal_iterations"].update(probes=2, ahead=0)  # a short shared stretch
    few = nerf_findings(None, timed)[1]
    assert few.verdict == "yes: +0.80 dB" and "ahead at 0 of 2" not in few.numbers
    assert few.numbers.endswith("; probe view: 2 probe(s) in the stretch both trained, too few to read")
    timed["variants"]["tiny_viewdirs"]["at_equal_iterations"].update(probes=18, ahead=9)
    timed["baseline_test_fall_db"] = 0.9  # the baseline itself swung by more than that gain: one run's noise
    assert nerf_findings(None, timed)[1].verdict == (
        "inconclusive: +0.80 dB is inside the 0.9 dB a comparison resolves (the baseline's own test PSNR fell "
        "0.90 dB between two of its scores: one run's noise)")
    timed["baseline_test_fall_db"] = 0.3  # a smaller fall leaves the usual 0.5 dB
    assert nerf_findings(None, timed)[1].verdict == "yes: +0.80 dB"
    timed["variants"]["tiny_viewdirs"]["test_views_at_equal_iterations"].update(baseline_psnr=11.0, gain_db=9.35)
    assert nerf_findings(None, timed)[1].verdict.startswith(  # a baseline still blank at that step: no evidence
        "inconclusive: both must have learned (learned")
    dead = _cmp(tiny=(11.2, 462), tiny_viewdirs=(20.35, 436))
    dead["variants"]["tiny_viewdirs"]["at_equal_iterations"] = {**probes, "mean_gain_db": 8.0}
    assert nerf_findings(None, dead)[1].verdict.startswith("inconclusive: both must have learned")


def test_the_sampling_headroom_verdict_follows_its_numbers() -> None:
    room = {"variant": "tiny", "samples": 64, "psnr": 22.08, "more_samples": 128, "more_psnr": 22.15, "gain_db": 0.07}
    flat = nerf_findings(None, {**_cmp(tiny=(22.08, 2000)), "sampling_headroom": room})[-1]
    assert flat.numbers == "tiny rendered with 64 samples per ray 22.08 dB, with 128 22.15 dB; blank image 11.00 dB"
    assert flat.verdict.startswith("no: 128 samples move its render by +0.07 dB, inside the 0.5 dB")
    lifted = nerf_findings(None, {**_cmp(tiny=(22.08, 2000)), "sampling_headroom": {**room, "gain_db": 1.2}})[-1]
    assert lifted.verdict == "yes: 128 samples lift its render by 1.2 dB"
    lowered = nerf_findings(None, {**_cmp(tiny=(22.08, 2000)), "sampling_headroom": {**room, "gain_db": -0.8}})[-1]
    assert lowered.verdict.startswith("no: 128 samples lower its render by 0.8 dB")
    dead = {**room, "psnr": 11.2, "more_psnr": 11.2, "gain_db": 0.0}  # a field at the blank image: no evidence
    assert nerf_findings(None, {**_cmp(tiny=(11.2, 2000)), "sampling_headroom": dead})[-1].verdict.startswith(
        "inconclusive: tiny did not learn")
    assert len(nerf_findings(None, _cmp(tiny=(22.08, 2000)))) == 1  # no headroom measured: no finding


def test_cross_scene_needs_a_field_that_learned_its_own_scene() -> None:
    cross = {"trained_on": "a", "other_scene": "b", "psnr_own_scene": 25.0, "psnr_other_scene": 11.0,
             "blank_psnr_own_scene": 12.0}
    assert nerf_findings(cross, None)[0].verdict.startswith("no: 14.0 dB worse")
    blank = {**cross, "psnr_own_scene": 12.5}
    assert nerf_findings(blank, None)[0].verdict.startswith("inconclusive: the field did not learn")


# ------------------------------------------------------------------------------------------------ a run folder
def _write(root: Path, rel: str, data: dict) -> None:
    (root / rel).parent.mkdir(parents=True, exist_ok=True)
    write_json(root / rel, data)


@pytest.mark.parametrize("doctored", [False, True])
def test_a_doctored_thin_run_folder_gets_inconclusive_everywhere(tmp_path: Path, doctored: bool) -> None:
    """The same run folder twice: with full evidence it names winners, with its evidence thinned (one seed, one
    plane, one timing round, a NeRF that stayed at the blank image) every such row says inconclusive."""
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
           _cmp(tiny=(11.0, 3), fast=(11.9, 2)) if doctored else _cmp(tiny=(14.0, 80), fast=(26.0, 600)))
    verdicts = {f.question: f.verdict for f in findings(tmp_path)}
    thin = [q for q, v in verdicts.items() if "inconclusive" in v]
    assert len(verdicts) == 6
    if doctored:
        assert len(thin) == 4, verdicts  # gradients, flatness, speed, NeRF; accuracy and the 2*kh*kw row stand
    else:
        assert thin == [], verdicts


def test_the_report_says_how_much_training_the_baseline_got() -> None:
    row = {"iterations": 410, "iterations_per_s": 2.2777, "images_of_rays": 41.984, "seconds": 180.01}
    text = baseline_budget_sentence(row, 180)
    assert "410 iterations in 180.0 s (2.28 it/s), 42.0 images' worth of rays" in text
    assert "1000 iterations of one whole image" in text
    old = baseline_budget_sentence({"iterations": 5, "iterations_per_s": 1.0}, 5)  # a compare.json from before
    assert "5 iterations in 5.0 s" in old and "images' worth" not in old
    steps = baseline_budget_sentence({"iterations": 2000, "iterations_per_s": 2.5}, None)  # --iters, no time row
    assert "got 2000 iterations (2.50 it/s)" in steps


def test_the_report_says_which_variants_trained_in_bfloat16() -> None:
    mixed = precision_words({"tiny": "bf16", "tiny_hier": "bf16", "fast": "fp32"})
    assert mixed == ("; training steps in bfloat16 for tiny, tiny_hier (float32 for fast), every score rendered "
                     "in float32")
    assert precision_words({"tiny": "fp32"}) == precision_words(None) == ""  # (None: a compare.json from before)
    assert precision_words({"tiny": "fp32+bf16", "fast": "fp32"}) == (
        "; training steps partly in bfloat16 for tiny (resumed in the other precision) (float32 for fast), every "
        "score rendered in float32")


def test_a_table_cell_without_a_value_reads_as_a_dash_not_as_python() -> None:
    cells = table(["variant", "gain"], [["tiny", None], ["tiny_hier", 0.25], ["fast", True]])
    assert "<td>-</td>" in cells and "None" not in cells  # (as the tables write a missing value elsewhere)
    assert "<td>0.25</td>" in cells and "<td>True</td>" in cells
