"""One figure style for every study, and atomic figure saving."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from neuralens.core.io import atomic_path

STYLE = {
    "figure.dpi": 100,
    "savefig.dpi": 120,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "font.size": 10,
    "axes.titlesize": 11,
    "legend.frameon": False,
}
plt.rcParams.update(STYLE)

#: model -> colour, so VGG and ResNet look the same in every figure
COLORS = {"vgg16": "#d62728", "vgg16_bn": "#ff7f0e", "resnet18": "#1f77b4", "plain18": "#9467bd"}


def save_figure(fig: plt.Figure, path: str | os.PathLike[str], pdf: bool = False) -> Path:
    """Save ``fig`` as PNG (and PDF beside it when asked) atomically, then close it."""
    dest = Path(path)
    with atomic_path(dest) as tmp:
        fig.savefig(tmp, format=dest.suffix.lstrip(".") or "png", bbox_inches="tight")
    if pdf:
        with atomic_path(dest.with_suffix(".pdf")) as tmp:
            fig.savefig(tmp, format="pdf", bbox_inches="tight")
    plt.close(fig)
    return dest
