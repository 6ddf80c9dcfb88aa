"""The main job end to end: `neuralens demo --quick`, its report, and resuming a finished demo."""

from __future__ import annotations

import json
import re
import subprocess
import sys
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


@pytest.mark.slow
def test_quick_demo_writes_a_complete_report(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    res = subprocess.run([sys.executable, "-m", "neuralens.cli", "demo", "--quick", "--offline", "--out", str(out),
                          "--data-root", str(tmp_path / "no-cifar")], capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, res.stderr[-3000:]
    html = (out / "report.html").read_text()
    data = json.loads((out / "data.json").read_text())
    assert (data["cifar10"]["source"], data["nerf"]["source"]) == ("synthetic", "builtin")
    assert html.index("generated stand-in data") < html.index("CNNs (VGG16-BN")  # said first, in words
    assert "generated built-in scene" in html
    parser = _Collect()
    parser.feed(html)
    titles = ("CNNs (VGG16-BN, ResNet18)", "Gradient flow", "Loss landscapes", "Deformable convolution", "Tiny NeRF")
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
    for f in ("orbit.gif", "orbit.mp4", "depth.mp4"):
        assert (out / "nerf" / "orbit" / f).stat().st_size > 0
    assert re.search(r"pixelNeRF", html) and "2*kh*kw" in html
    pdf = (out / "report.pdf").read_bytes()
    assert pdf.startswith(b"%PDF") and pdf.count(b"/Type /Page") >= parser.images
    # a second run finds every step done: nothing is recomputed, only the report is rebuilt
    results = sorted(out.rglob("*.pt")) + sorted(out.rglob("done.json"))
    before = {p: p.stat().st_mtime_ns for p in results}
    again = subprocess.run([sys.executable, "-m", "neuralens.cli", "demo", "--quick", "--offline", "--out", str(out),
                            "--data-root", str(tmp_path / "no-cifar")], capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and again.stderr.count("skipped") == 5
    assert {p: p.stat().st_mtime_ns for p in results} == before
