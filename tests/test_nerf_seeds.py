"""A comparison over seeds: the t interval against scipy and closed forms, the pairing of gains per seed, the
verdicts it allows, and ``nerf compare --seeds`` end to end."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from PIL import Image

from neuralens.core.io import write_json
from neuralens.core.stats import T_975, interval_text, mean_interval, t_975
from neuralens.nerf.seeds import GAIN_FIGURE, over_seeds, probe_gains
from neuralens.report.findings import findings, nerf_findings
from neuralens.report.sections import nerf_section


def test_the_t_quantiles_match_scipy() -> None:
    stats = pytest.importorskip("scipy.stats")
    for dof in range(1, len(T_975) + 1):
        assert t_975(dof) == pytest.approx(stats.t.ppf(0.975, dof), abs=1e-3)
    assert t_975(200) >= stats.t.ppf(0.975, 200)  # beyond the table: wider, never narrower
    with pytest.raises(ValueError):
        t_975(0)


def test_the_mean_interval_in_closed_form() -> None:
    got = mean_interval([1.0, 2.0, 3.0])  # mean 2, sample sd 1, half-width t(2) / sqrt(3)
    assert got["n"] == 3 and got["mean"] == 2.0 and got["sd"] == pytest.approx(1.0)
    assert got["ci95"] == pytest.approx([2 - 4.303 / math.sqrt(3), 2 + 4.303 / math.sqrt(3)])
    assert mean_interval([0.4]) == {"n": 1, "mean": 0.4, "sd": None, "ci95": None}
    with pytest.raises(ValueError):
        mean_interval([])


def test_the_winner_over_seeds_is_the_best_variant_whose_interval_is_above_zero() -> None:
    """Paired gains at equal steps per seed: hier 0.5, 0.4, 0.5 (interval above zero) and dirs 0.9, -0.5, 0.8
    (larger mean, interval across zero): hier wins, with its own mean."""
    summaries = {s: _seed_cmp({"hier": h, "dirs": d}) for s, (h, d) in enumerate([(0.5, 0.9), (0.4, -0.5),
                                                                                    (0.5, 0.8)])}
    rows = nerf_findings(None, summaries[0], over_seeds(summaries))
    assert rows[0].decision.state == "yes" and rows[0].decision.evidence == {"best": "hier",
                                                                             "gain": pytest.approx(0.4667, abs=1e-4)}
    assert [r.decision.state for r in rows[1:]] == ["yes", "inconclusive"]
    worse = {s: _seed_cmp({"hier": -g}) for s, g in enumerate([0.5, 0.4, 0.5])}
    assert nerf_findings(None, worse[0], over_seeds(worse))[0].decision.state == "no"


def test_an_interval_bound_near_zero_keeps_its_side() -> None:
    assert interval_text([-0.0014, 0.5353]) == "[-0.001, +0.54]"
    assert interval_text([0.004, 0.0]) == "[+0.004, +0.00]" and interval_text([-0.32, 0.19]) == "[-0.32, +0.19]"
    assert interval_text(None) is None


def test_probe_gains_are_read_after_the_same_training() -> None:
    """Two probe curves logged at different steps, compared where both reached as much training: the variant's
    curve is the baseline's line plus 0.5 dB, so the gain is 0.5 dB at every point (linear interpolation)."""
    base = [{"iteration": i, "images": i / 10, "psnr": 12.0 + 0.1 * i} for i in range(0, 101, 25)]
    mine = [{"iteration": i, "images": i / 10, "psnr": 12.5 + 0.1 * i} for i in range(0, 101, 20)]
    xs = torch.linspace(0, 10, 7).numpy()
    assert probe_gains(mine, base, xs) == pytest.approx([0.5] * 7)


def _seed_cmp(gains: dict[str, float | None], base: float = 20.0, it: int = 400) -> dict:
    """One seed's compare.json: tiny at ``base`` dB, each improvement ``gain`` dB over it after ``it`` steps."""
    common = {"iterations_per_s": 2.0, "time_to_baseline_final_psnr_s": None, "peak_rss_mb": 900.0,
              "seconds": 180.0, "images_of_rays": 10.0}
    rows = {"tiny": {"psnr": base + 0.3, "ssim": 0.7, "iterations": 2 * it, **common}}
    for v, gain in gains.items():
        views = None if gain is None else {"iterations": it, "psnr": base + gain, "ssim": 0.72,
                                           "baseline_psnr": base, "baseline_ssim": 0.7, "gain_db": gain}
        rows[v] = {"psnr": base + (gain or 0), "ssim": 0.72, "iterations": it,
                   "test_views_at_equal_iterations": views, **common}
    return {"baseline": "tiny", "best": "tiny", "seconds_budget": 180, "iters_budget": None, "scene": "s",
            "blank_psnr": {"best": 11.0}, "variants": rows, "test_views": [0, 1],
            "precision": {v: "fp32" for v in rows}}


def test_gains_are_paired_per_seed_and_judged_by_their_interval() -> None:
    summaries = {0: _seed_cmp({"hier": 0.30, "dirs": 0.2, "odd": 0.1}),
                 2: _seed_cmp({"hier": 0.25, "dirs": -0.4, "odd": None}),
                 3: _seed_cmp({"hier": 0.35, "dirs": 0.3, "odd": 0.1})}
    over = over_seeds(summaries)
    assert over["seeds"] == [0, 2, 3] and over["runs"] == {"0": "seed_0", "2": "seed_2", "3": "seed_3"}
    hier = over["variants"]["hier"]
    assert hier["gains_db"] == pytest.approx([0.30, 0.25, 0.35]) and hier["gain"]["mean"] == pytest.approx(0.30)
    assert hier["ssim_gains"] == pytest.approx([0.02] * 3)
    assert over["variants"]["odd"] is None  # not scored at equal steps in seed 2: its gains would not be paired
    states = {f.question: f.decision.state for f in nerf_findings(None, summaries[0], over)}
    assert states["Does hier beat tiny after the same training, over 3 seeds?"] == "yes"
    assert states["Does dirs beat tiny after the same training, over 3 seeds?"] == "inconclusive"
    assert "Does odd beat tiny after the same training?" in states  # one seed's own finding answers
    dark = over_seeds({s: _seed_cmp({"hier": 0.3}, base=11.0) for s in (0, 1, 2)})  # nothing learned
    assert nerf_findings(None, _seed_cmp({"hier": 0.3}, base=11.0), dark)[1].decision.rule == "not_learned"


def test_the_report_reads_a_comparison_over_seeds(tmp_path: Path) -> None:
    summaries = {s: _seed_cmp({"tiny_hier": g}) for s, g in ((0, 0.3), (2, 0.25), (3, 0.35))}
    for s, cmp in summaries.items():
        (tmp_path / "nerf" / "compare" / f"seed_{s}").mkdir(parents=True)
        write_json(tmp_path / "nerf" / "compare" / f"seed_{s}" / "compare.json", cmp)
    write_json(tmp_path / "nerf" / "compare" / "seeds.json", over_seeds(summaries))
    Image.new("RGB", (4, 4)).save(tmp_path / "nerf" / "compare" / "seed_0" / "psnr_vs_time.png")
    Image.new("RGB", (4, 4)).save(tmp_path / "nerf" / "compare" / GAIN_FIGURE)
    questions = [f.question for f in findings(tmp_path)]
    assert "Does tiny_hier beat tiny after the same training, over 3 seeds?" in questions
    html = nerf_section(tmp_path / "nerf")
    assert "The comparison ran once per seed (0, 2, 3)" in html
    assert "figure missing: psnr_vs_time.png" not in html  # seed 0's figures, from its own folder
    assert 'alt="gain_vs_iter"' in html  # the gains over all seeds, from the folder above them
    assert "<td>+0.25</td>" in html and "<td>[+0.18, +0.42]</td>" in html  # 0.30 +- 4.303 * 0.05 / sqrt(3)


def test_nerf_compare_over_seeds_end_to_end(tmp_path: Path) -> None:
    def run(*extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "neuralens.cli", "nerf", "compare", "--scene", "builtin:16",
                               "--iters", "3", "--variants", "tiny,tiny_viewdirs", "--batch-rays", "64",
                               "--seeds", "0,1", "--out", str(tmp_path), *extra], capture_output=True, text=True,
                              timeout=600)
    res = run()
    assert res.returncode == 0, res.stderr[-2000:]
    over = json.loads((tmp_path / "seeds.json").read_text())
    assert over["seeds"] == [0, 1] and set(over["final_psnr"]) == {"tiny", "tiny_viewdirs"}
    for s in (0, 1):  # each seed a whole comparison, trained with its own seed
        cmp = json.loads((tmp_path / f"seed_{s}" / "compare.json").read_text())
        ckpt = torch.load(tmp_path / f"seed_{s}" / "tiny_viewdirs" / "checkpoint.pt", weights_only=False)
        assert ckpt["config"]["seed"] == s
        metrics = json.loads((tmp_path / f"seed_{s}" / "tiny" / "metrics.json").read_text())
        assert over["final_psnr"]["tiny"][s] == pytest.approx(metrics["psnr"]["mean"])
        row = cmp["variants"]["tiny_viewdirs"]["test_views_at_equal_iterations"]  # both after 3 steps
        assert over["variants"]["tiny_viewdirs"]["gains_db"][s] == pytest.approx(row["gain_db"])
    assert "final test PSNR per seed (0, 1)" in res.stdout
    assert (tmp_path / GAIN_FIGURE).stat().st_size > 0
    again = run("--resume")  # finished seeds are read, not trained again
    assert again.returncode == 0 and again.stderr.count("finished before") == 2, again.stderr[-2000:]
    before = (tmp_path / "seeds.json").read_text()
    changed = run("--resume", "--iters", "4")  # a finished seed cannot stand in for another budget
    assert changed.returncode == 2 and "Traceback" not in changed.stderr
    assert "compared budget 3 iterations, this run asks for 4 iterations" in changed.stderr
    assert (tmp_path / "seeds.json").read_text() == before
