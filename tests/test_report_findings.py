"""The findings table's verdicts follow the numbers, including when they go against the expected story."""

from __future__ import annotations

from neuralens.report.findings import gradient_finding, landscape_finding, nerf_findings
from neuralens.report.sections import baseline_budget_sentence


def _land(rise: float, hess: float) -> dict:
    return {"sharpness": {"mean_rise_r0.5": rise, "top_hessian_eigenvalue": hess}}


def test_landscape_verdicts() -> None:
    acc = {"a": 0.9, "b": 0.9}
    assert landscape_finding({"a": _land(1.0, 10), "b": _land(2.0, 30)}, acc).verdict.startswith("a is flatter")
    assert "disagree" in landscape_finding({"a": _land(1.0, 30), "b": _land(2.0, 10)}, acc).verdict
    assert "within 25% of each other" in landscape_finding({"a": _land(1.0, 10), "b": _land(1.1, 11)}, acc).verdict
    assert "but top_hessian_eigenvalue is within 25%" in \
        landscape_finding({"a": _land(1.0, 10), "b": _land(2.0, 11)}, acc).verdict
    assert "inconclusive at this size: b" in \
        landscape_finding({"a": _land(1.0, 10), "b": _land(2.0, 30)}, {"a": 0.9, "b": 0.3}).verdict


def _gf(**ratios: float) -> dict:
    return {"models": {k.replace("_at_init", "@init"): {"summary": {"first_to_last_block_input_grad": v}}
                       for k, v in ratios.items()}}


def test_gradient_verdicts_follow_the_numbers() -> None:
    assert gradient_finding(_gf(resnet18_at_init=0.6, vgg16_at_init=0.01)).verdict.startswith("yes")
    assert gradient_finding(_gf(resnet18_at_init=0.01, plain18_at_init=0.7)).verdict.startswith("no, not in this run")
    assert gradient_finding(_gf(resnet18_at_init=0.6, plain18_at_init=0.62)).verdict.startswith("inconclusive")


def test_nerf_verdicts() -> None:
    cross = {"trained_on": "a", "other_scene": "b", "psnr_own_scene": 25.0, "psnr_other_scene": 11.0}
    cmp = {"baseline": "tiny", "best": "fast", "seconds_budget": 60,
           "variants": {"tiny": {"psnr": 20.0}, "fast": {"psnr": 20.2, "speedup_to_baseline_psnr": None}}}
    own, win = nerf_findings(cross, cmp)
    assert own.verdict.startswith("no: 14.0 dB worse") and win.verdict.startswith("inconclusive")
    cmp["variants"]["fast"]["psnr"] = 26.0
    assert nerf_findings(None, cmp)[0].verdict.startswith("fast: +6.0 dB")


def test_the_report_says_how_much_training_the_baseline_got() -> None:
    row = {"iterations": 410, "iterations_per_s": 2.2777, "images_of_rays": 41.984, "seconds": 180.01}
    text = baseline_budget_sentence(row, 180)
    assert "410 iterations in 180.0 s (2.28 it/s), 42.0 images' worth of rays" in text
    assert "1000 iterations of one whole image" in text
    old = baseline_budget_sentence({"iterations": 5, "iterations_per_s": 1.0}, 5)  # a compare.json from before
    assert "5 iterations in 5.0 s" in old and "images' worth" not in old
