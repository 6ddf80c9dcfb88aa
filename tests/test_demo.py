"""The main job end to end: `neuralens demo --quick`, its report (read as HTML and opened in a real browser),
and resuming a finished demo."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from html import escape
from html.parser import HTMLParser
from pathlib import Path

import pytest

from neuralens.report.html import fmt


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.h2: list[str] = []
        self.images = 0
        self._in_h2 = False

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self._in_h2 = tag == "h2"
        if tag == "img" and dict(attrs).get("src", "").startswith("data:image/"):
            self.images += 1

    def handle_data(self, data: str) -> None:
        if self._in_h2:
            self.h2.append(data)
            self._in_h2 = False


@pytest.fixture(scope="module")
def quick_demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """One offline quick demo for every test of this module."""
    tmp = tmp_path_factory.mktemp("demo")
    out = tmp / "demo"
    res = subprocess.run([sys.executable, "-m", "neuralens.cli", "demo", "--quick", "--offline", "--out", str(out),
                          "--data-root", str(tmp / "no-cifar")], capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, res.stderr[-3000:]
    return out, res


@pytest.mark.slow
def test_quick_demo_writes_a_complete_report(quick_demo: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    out, res = quick_demo
    tmp_path = out.parent
    html = (out / "report.html").read_text()
    data = json.loads((out / "data.json").read_text())
    assert (data["cifar10"]["source"], data["nerf"]["source"]) == ("synthetic", "builtin")
    assert html.index("generated stand-in data") < html.index("CNNs (VGG16-BN")  # said first, in words
    assert "generated built-in scene" in html
    parser = _Collect()
    parser.feed(html)
    titles = ("CNNs (VGG16-BN, ResNet18", "Gradient flow", "Loss landscapes", "Deformable convolution", "Tiny NeRF")
    for title in titles:
        assert any(title in h for h in parser.h2), title
    assert "Not run" not in html and "figure missing" not in html
    assert parser.images >= 20
    # numbers in the report are the run folder's numbers
    cnn = json.loads((out / "cnn" / "summary.json").read_text())
    for m in cnn["models"]:
        assert fmt(m["accuracy"]) in html
    nerf = json.loads((out / "nerf" / "compare" / "compare.json").read_text())
    for v in nerf["variants"].values():
        assert fmt(v["psnr"]) in html
    cross = json.loads((out / "nerf" / "cross_scene.json").read_text())
    assert fmt(cross["psnr_other_scene"]) in html and fmt(cross["psnr_own_scene"]) in html
    assert "synthetic" in res.stderr  # the data source was announced
    assert res.stdout.strip() == str(out / "report.html") and str(out / "report.html") not in res.stderr  # once
    assert not list(out.rglob(".lock"))  # no lock left in any run folder
    for f in ("orbit.gif", "orbit.mp4", "depth.mp4"):
        assert (out / "nerf" / "orbit" / f).stat().st_size > 0
    assert re.search(r"pixelNeRF", html) and "2*kh*kw" in html
    assert not (out / "report.pdf").exists()  # --quick writes the HTML only; `neuralens report` adds the PDF
    rebuilt = subprocess.run([sys.executable, "-m", "neuralens.cli", "report", str(out)], capture_output=True,
                             text=True, timeout=300)
    assert rebuilt.returncode == 0 and rebuilt.stdout.strip() == str(out / "report.html")
    pdf = (out / "report.pdf").read_bytes()
    assert pdf.startswith(b"%PDF") and pdf.count(b"/Type /Page") >= parser.images
    # a second run finds every step done: nothing is recomputed, only the report is rebuilt
    results = sorted(out.rglob("*.pt")) + sorted(out.rglob("done.json"))
    before = {p: p.stat().st_mtime_ns for p in results}
    again = subprocess.run([sys.executable, "-m", "neuralens.cli", "demo", "--quick", "--offline", "--out", str(out),
                            "--data-root", str(tmp_path / "no-cifar")], capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and again.stderr.count("skipped") == 6
    assert {p: p.stat().st_mtime_ns for p in results} == before


@pytest.mark.slow
def test_findings_come_first_and_no_paragraph_is_repeated(
        quick_demo: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    from neuralens.report.findings import findings

    out, _ = quick_demo
    html = (out / "report.html").read_text()
    rows = findings(out)
    nerf = json.loads((out / "nerf" / "compare" / "compare.json").read_text())["variants"]
    judged = [v for v, r in nerf.items() if r.get("test_views_at_equal_iterations")]  # one row each
    assert [r.question for r in rows if r.question.endswith("after the same training?")] == \
        [f"Does {v} beat tiny after the same training?" for v in judged]
    depths = json.loads((out / "depth" / "depth.json").read_text())["nets"]
    assert [r.question for r in rows[:3]] == [f"Does the identity shortcut matter at {d} layers?" for d in (8, 20, 56)]
    assert len(rows) == 9 + len(judged) + len(depths) // 2 and all(r.verdict for r in rows)
    assert html.index("Findings") < html.index("<section") < html.index("Appendix: run settings")
    for r in rows:  # every verdict is on the page, computed from the run's numbers
        assert escape(r.verdict) in html
    paragraphs = re.findall(r"<(?:p|li)[^>]*>(.*?)</(?:p|li)>", html, re.S)
    long = [p for p in paragraphs if len(p) > 60]
    assert len(long) == len(set(long)), [p for p in long if long.count(p) > 1][:2]
    assert (out / "report.html").stat().st_size < 10 * 2**20


@pytest.mark.slow
def test_the_report_works_in_a_real_browser(quick_demo: tuple[Path, subprocess.CompletedProcess[str]],
                                            tmp_path: Path) -> None:
    from browser import browser, probe

    exe = browser()
    if exe is None:
        pytest.skip("no chromium here (.ci/run installs Debian's chromium; this machine could not)")
    out, _ = quick_demo
    seen = probe(out / "report.html", exe, tmp_path)
    assert seen["errors"] == [], seen["errors"]
    assert seen["images"] >= 20 and seen["bad_images"] == []
    assert seen["videos"] == 1 and seen["bad_videos"] == 0
    assert seen["plots"] == 1 and seen["drawn_plots"] == 1


def test_the_browser_probe_sees_broken_pages(tmp_path: Path) -> None:
    from browser import browser, probe

    exe = browser()
    if exe is None:
        pytest.skip("no chromium here (.ci/run installs Debian's chromium; this machine could not)")
    page = tmp_path / "broken.html"
    page.write_text("<!DOCTYPE html><html><head><title>x</title></head><body>"
                    "<img alt='bad' src='data:image/png;base64,AAAA'>"
                    "<div class='plotly-figure'></div><script>undefinedFunction();</script></body></html>")
    seen = probe(page, exe, tmp_path)
    assert seen["bad_images"] == ["bad"] and seen["plots"] == 1 and seen["drawn_plots"] == 0
    assert any("undefinedFunction" in e for e in seen["errors"])


@pytest.mark.slow
def test_the_demo_studies_the_shipped_nets_and_says_inconclusive_on_thin_evidence(tmp_path: Path) -> None:
    """A data home whose "CIFAR-10" is random pixels: the demo takes the shipped nets (no training), scores them at
    chance, and every verdict that rests on them says so instead of naming a winner."""
    import numpy as np

    from neuralens.data.constants import CIFAR10_CLASSES
    from neuralens.report.findings import findings

    home = tmp_path / "home" / "cifar10"
    home.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for split, n in (("train", 1100), ("test", 600)):
        np.savez(home / f"cifar10_{split}.npz", x=rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8),
                 y=np.arange(n) % 10, classes=np.array(CIFAR10_CLASSES))
    out = tmp_path / "demo"
    res = subprocess.run([sys.executable, "-m", "neuralens.cli", "demo", "--quick", "--offline", "--only",
                          "cnn,gradflow,landscape", "--data-root", str(tmp_path / "home"), "--out", str(out)],
                         capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, res.stderr[-3000:]
    summary = json.loads((out / "cnn" / "summary.json").read_text())
    assert summary["mode"] == "shipped" and [m["model"] for m in summary["models"]] == ["vgg16_bn", "resnet18",
                                                                                        "plain18"]
    assert not list((out / "cnn").rglob("*.pt"))  # nothing was trained
    gf = json.loads((out / "gradflow" / "gradflow.json").read_text())
    assert {"vgg16@init", "vgg16_bn@init", "resnet18@init", "plain18@init", "vgg16_bn", "resnet18", "plain18"} <= \
        set(gf["models"]) and len(gf["models"]["plain18@init"]["seeds"]) == 3
    rows = {f.question: f.decision for f in findings(out)}
    assert (rows["Are the models studied trained (above chance)?"].state, rows[
        "Is resnet18's loss landscape flatter than plain18's?"].rule) == ("no", "undertrained")
    assert (out / "landscape" / "trajectory" / "trajectory.png").is_file()
