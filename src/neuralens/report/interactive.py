"""What the offline HTML report can play or turn: the 3-D loss surface as a plotly figure (plotly.js embedded once,
nothing fetched at view time) and the NeRF orbit as an inline video with its GIF as the print fallback."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

from neuralens.report.html import esc


def plotly_script() -> str:
    """plotly.js itself, once per report (about 4.8 MB), so the figures work without a network."""
    return f"<script>{get_plotlyjs()}</script>"


def surface_figure(results: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """One 3-D surface per model (loss over the filter-normalised plane), on one shared colour scale."""
    fig = go.Figure()
    zmax = max(float(np.nanmax(r["loss"])) for r in results.values())
    for k, (name, r) in enumerate(results.items()):
        fig.add_trace(go.Surface(x=np.asarray(r["betas"]), y=np.asarray(r["alphas"]), z=np.asarray(r["loss"]),
                                 name=name, showscale=k == 0, cmin=0, cmax=zmax, colorscale="Viridis", opacity=0.9,
                                 hovertemplate=f"{name}<br>alpha %{{y:.2f}}<br>beta %{{x:.2f}}<br>loss %{{z:.4f}}"
                                               "<extra></extra>"))
    fig.update_layout(scene={"xaxis_title": "beta (direction 2)", "yaxis_title": "alpha (direction 1)",
                             "zaxis_title": "loss"}, height=560, margin={"l": 0, "r": 0, "t": 30, "b": 0},
                      title="loss surfaces: drag to rotate, scroll to zoom, hover for values")
    return json.loads(fig.to_json())


def plot_div(div_id: str, figure: dict[str, Any], caption: str) -> str:
    """A div drawn by plotly.js from the figure's JSON (needs :func:`plotly_script` earlier in the page)."""
    data = json.dumps(figure).replace("</", "<\\/")
    return (f"<figure><div id='{esc(div_id)}' class='plotly-figure'></div><figcaption>{esc(caption)}</figcaption>"
            f"<script>(function () {{ const fig = {data}; Plotly.newPlot({json.dumps(div_id)}, fig.data, "
            "fig.layout, {responsive: true, displaylogo: false}); })();</script></figure>")


def video(path: Path, fallback: Path, caption: str) -> str:
    """An inline looping video (MP4/WebM, base64) whose fallback image is what the PDF shows."""
    if not path.is_file():
        return f"<p class='note'>video missing: {esc(path.name)}</p>"
    mime = "video/webm" if path.suffix == ".webm" else "video/mp4"
    src = base64.b64encode(path.read_bytes()).decode("ascii")
    poster = ""
    if fallback.is_file():
        poster = (f"<img alt='{esc(fallback.stem)}' src='data:image/gif;base64,"
                  f"{base64.b64encode(fallback.read_bytes()).decode('ascii')}'>")
    return (f"<figure><video controls autoplay loop muted playsinline src='data:{mime};base64,{src}'>{poster}"
            f"</video><figcaption>{esc(caption)}</figcaption></figure>")
