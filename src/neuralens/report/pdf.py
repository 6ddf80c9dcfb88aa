"""``report.pdf`` from ``report.html`` with matplotlib's PDF backend alone (no browser, no LaTeX).

The HTML is the single source: headings start pages, paragraphs, list items and tables become wrapped text,
embedded PNG/GIF figures get a page each (a GIF shows its first frame).
"""

from __future__ import annotations

import base64
import io
import textwrap
from html.parser import HTMLParser
from pathlib import Path

from matplotlib.backends.backend_pdf import PdfPages
from PIL import Image

from neuralens.core.io import atomic_path
from neuralens.core.plotting import plt

_PAGE = (8.27, 11.69)  # A4 portrait, inches
_LINES_PER_PAGE = 62


class _Flow(HTMLParser):
    """Turns the report's HTML into a list of ("h", text) / ("t", text) / ("img", bytes) items."""

    def __init__(self) -> None:
        super().__init__()
        self.items: list[tuple[str, object]] = []
        self._buf: list[str] = []
        self._tag: str | None = None
        self._row: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("h1", "h2", "p", "li", "figcaption"):
            self._tag, self._buf = tag, []
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._tag, self._buf = tag, []
        elif tag == "img":
            src = dict(attrs).get("src") or ""
            if src.startswith("data:image/"):
                self.items.append(("img", base64.b64decode(src.split(",", 1)[1])))

    def handle_endtag(self, tag: str) -> None:
        text = " ".join("".join(self._buf).split())
        if tag in ("h1", "h2") and self._tag == tag:
            self.items.append(("h", text))
        elif tag in ("p", "li", "figcaption") and self._tag == tag and text:
            self.items.append(("t", ("- " if tag == "li" else "") + text))
        elif tag in ("td", "th"):
            self._row.append(text)
        elif tag == "tr" and self._row:
            self.items.append(("t", " | ".join(self._row)))
        if tag == self._tag:
            self._tag = None

    def handle_data(self, data: str) -> None:
        if self._tag:
            self._buf.append(data)


def _text_page(pdf: object, lines: list[str]) -> None:
    fig = plt.figure(figsize=_PAGE)
    fig.text(0.06, 0.96, "\n".join(lines), va="top", ha="left", family="monospace", fontsize=7.5)
    pdf.savefig(fig)
    plt.close(fig)


def _image_page(pdf: object, data: bytes) -> None:
    img = Image.open(io.BytesIO(data)).convert("RGB")
    fig = plt.figure(figsize=_PAGE)
    ax = fig.add_axes((0.04, 0.04, 0.92, 0.92))
    ax.imshow(img)
    ax.axis("off")
    pdf.savefig(fig)
    plt.close(fig)


def html_to_pdf(html_path: str | Path, pdf_path: str | Path) -> Path:
    """Write a PDF rendering of a neuralens report (atomic)."""
    flow = _Flow()
    flow.feed(Path(html_path).read_text(encoding="utf-8"))
    with atomic_path(pdf_path) as tmp, PdfPages(tmp) as pdf:
        lines: list[str] = []
        for kind, value in flow.items:
            if kind == "img":
                if lines:
                    _text_page(pdf, lines)
                    lines = []
                _image_page(pdf, value)  # type: ignore[arg-type]
                continue
            if kind == "h" and lines:
                _text_page(pdf, lines)
                lines = []
            wrapped = textwrap.wrap(str(value), 110) or [""]
            if kind == "h":
                wrapped = [str(value).upper(), "=" * min(110, len(str(value)))]
            if len(lines) + len(wrapped) > _LINES_PER_PAGE:
                _text_page(pdf, lines)
                lines = []
            lines += [*wrapped, ""]
        if lines:
            _text_page(pdf, lines)
    return Path(pdf_path)
