"""Assemble ``report.html`` (and ``report.pdf``) from a demo run folder: one section per study, in a fixed order.

A study whose folder is absent is said to be "not run" rather than left as a silent gap.
"""

from __future__ import annotations

from pathlib import Path

from neuralens.core.errors import NeuralensError
from neuralens.core.io import atomic_path, read_json
from neuralens.report.findings import findings
from neuralens.report.html import esc, page, table
from neuralens.report.interactive import plotly_script
from neuralens.report.pdf import html_to_pdf
from neuralens.report.sections import SECTIONS


def _data_summary(run_dir: Path) -> str:
    """The report's first words: which data the run studied, real or generated (from ``data.json``)."""
    path = run_dir / "data.json"
    if not path.is_file():
        return ""
    info = read_json(path)
    cifar, nerf = info.get("cifar10", {}), info.get("nerf", {})
    if cifar.get("source") == "real":
        used = (f"{cifar.get('train')} training / {cifar.get('test')} test images used" if cifar.get("train") else
                f"the shipped nets scored on {cifar.get('test')} test images")
        images = f"real CIFAR-10 from {esc(cifar.get('path'))} ({used})"
    else:
        images = ("generated stand-in data: procedural shapes in 10 classes, because no CIFAR-10 was in the data "
                  f"home {esc(info.get('home'))} (run <code>neuralens data fetch cifar10</code>)")
    if nerf.get("source") == "real":
        scene = f"the real scene {esc(nerf.get('scene'))} ({esc(nerf.get('path'))})"
    else:
        scene = ("a generated built-in scene (a ray-traced still life), because no NeRF scene was in the data home "
                 "(run <code>neuralens data fetch tiny_nerf</code>)")
    return f"<h2 id='data'>Data</h2><p>Images: {images}.</p><p>NeRF: {scene}.</p>"


def _findings_table(run_dir: Path) -> str:
    """One row per question: its numbers, the verdict they support, and a link to the section."""
    rows = findings(run_dir)
    if not rows:
        return ""
    body = "".join(f"<tr><td>{esc(f.question)}</td><td>{esc(f.numbers)}</td><td><b>{esc(f.verdict)}</b></td>"
                   f"<td><a href='#{esc(f.anchor)}'>details</a></td></tr>" for f in rows)
    return ("<h2 id='findings'>Findings</h2><table class='findings'><tr><th>question</th><th>measured</th>"
            f"<th>verdict</th><th></th></tr>{body}</table>")


def _appendix(run_dir: Path) -> str:
    """Run settings and versions, at the end: what reproduces the run, not what it found."""
    cfg_path = run_dir / "config.json"
    if not cfg_path.is_file():
        return ""
    cfg = read_json(cfg_path)
    rows = [[k, v] for k, v in {**cfg.get("env", {}), "neuralens": cfg.get("neuralens")}.items()]
    rows += [[f"arg {k}", v] for k, v in cfg.get("args", {}).items()]
    return "<h2 id='appendix'>Appendix: run settings and versions</h2>" + table(["setting", "value"], rows)


def build_report(run_dir: str | Path, out: str | Path | None = None, pdf: bool = True) -> Path:
    """Write ``report.html`` (self-contained) and ``report.pdf`` beside it for ``run_dir``; returns the HTML."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise NeuralensError(f"{run_dir}: run folder not found")
    parts: list[str] = []
    toc = []
    for folder, title, fn in SECTIONS:
        body = fn(run_dir / folder) if (run_dir / folder).is_dir() else None
        anchor = folder.replace("/", "-")
        toc.append(f"<li><a href='#{anchor}'>{esc(title)}</a>{'' if body else ' (not run)'}</li>")
        if body is None:
            body = f"<p class='note'>Not run: no <code>{esc(folder)}/</code> in {esc(run_dir)}.</p>"
        parts.append(f"<section id='{anchor}'><h2>{esc(title)}</h2>{body}</section>")
    sections = "".join(parts)
    if "class='plotly-figure'" in sections:
        sections = plotly_script() + sections
    html = page("neuralens report", _data_summary(run_dir) + _findings_table(run_dir) + "<ul>" + "".join(toc)
                + "</ul>" + sections + _appendix(run_dir))
    dest = Path(out) if out else run_dir / "report.html"
    with atomic_path(dest) as tmp:
        tmp.write_text(html, encoding="utf-8")
    if pdf:
        html_to_pdf(dest, dest.with_suffix(".pdf"))
    return dest
