"""Tiny HTML building blocks for a self-contained report: escaped text, embedded PNGs, tables."""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from pathlib import Path
from typing import Any

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;
color:#222;line-height:1.5}
h1{border-bottom:2px solid #333}h2{border-bottom:1px solid #ccc;margin-top:2em}
figure{margin:1em 0;text-align:center}figure img,figure video{max-width:100%;border:1px solid #eee}
table.findings td,table.findings th{text-align:left;vertical-align:top}
figcaption{font-size:.9em;color:#555}
table{border-collapse:collapse;margin:1em 0;font-size:.92em}
td,th{border:1px solid #ccc;padding:.3em .6em;text-align:right}
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}
.note{background:#fff8e1;border-left:4px solid #f0b400;padding:.5em 1em}
.explain{background:#f5f9ff;border-left:4px solid #4a90d9;padding:.5em 1em}
code{background:#f2f2f2;padding:0 .2em}
"""


def esc(text: Any) -> str:
    return html.escape(str(text))


def fmt(value: Any, digits: int = 4) -> str:
    """Numbers with sensible precision, a dash where there is no value (the baseline has no gain over itself);
    everything else as text."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return esc(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value != value:
            return "nan"
        if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e5):
            return f"{value:.3e}"
        return f"{value:.{digits}g}"
    return esc(value)


def _embed(path: Path, mime: str, caption: str) -> str:
    if not path.is_file():
        return f'<p class="note">figure missing: {esc(path.name)}</p>'
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    cap = f"<figcaption>{esc(caption)}</figcaption>" if caption else ""
    return f'<figure><img alt="{esc(path.stem)}" src="data:{mime};base64,{data}">{cap}</figure>'


def figure(path: Path, caption: str = "") -> str:
    """Embed a PNG as base64 so the report opens offline as one file; missing figures are said, not hidden."""
    return _embed(path, "image/png", caption)


def table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{fmt(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def paragraph(text: str, cls: str = "") -> str:
    c = f' class="{cls}"' if cls else ""
    return f"<p{c}>{esc(text)}</p>"


def page(title: str, body: str) -> str:
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{esc(title)}</title>"
            f"<style>{CSS}</style></head><body><h1>{esc(title)}</h1>{body}</body></html>\n")
