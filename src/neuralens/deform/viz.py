"""Figures: where each output pixel of a deformable stack really samples (the 9 -> 81 -> 729 figure), offset heat
maps, and the DCN-vs-CNN training curves."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from neuralens.core.plotting import plt, save_figure
from neuralens.deform.receptive import offset_magnitude, receptive_points, regular_points
from neuralens.models.small_cnn import SmallCNN


def _to_input(pts: Tensor, scale: float) -> Tensor:
    """Feature-map coordinates (after a 2x pool) -> input-pixel coordinates."""
    return (pts + 0.5) * scale - 0.5


def plot_sampling_points(model: SmallCNN, image: Tensor, path: str | Path, pixel: tuple[int, int] | None = None,
                         title: str = "") -> Path:
    """Plain conv's regular grid next to the deformable stack's points after 1, 2 and 3 layers.

    ``image`` is one float (3, H, W) image in [0, 1]; ``model`` a SmallCNN with deformable layers.
    """
    model.eval()
    with torch.no_grad():
        model(image[None])
    layers = model.deform_layers()
    h_feat = layers[-1].last_offset.shape[-2]
    scale = image.shape[-1] / h_feat
    py, px = pixel if pixel is not None else (h_feat // 2, h_feat // 2)
    traced = receptive_points(layers, float(py), float(px))
    big = F.interpolate(image[None], scale_factor=4, mode="nearest")[0].permute(1, 2, 0).numpy()
    fig, axes = plt.subplots(1, 4, figsize=(16, 4.4))
    panels = [("plain conv, 3 layers: regular 7x7 grid", regular_points(3, py, px))]
    panels += [(f"deformable, {k + 1} layer(s): {len(p)} points", p) for k, p in enumerate(traced)]
    for ax, (name, pts) in zip(axes, panels):
        ax.imshow(big, extent=(-0.5, image.shape[-1] - 0.5, image.shape[-2] - 0.5, -0.5))
        q = _to_input(pts, scale)
        ax.scatter(q[:, 1], q[:, 0], s=6 if len(q) > 100 else 16, c="yellow", edgecolors="black", linewidths=0.3)
        c = _to_input(torch.tensor([[py, px]], dtype=torch.float32), scale)[0]
        ax.plot(c[1], c[0], "r*", ms=12)
        ax.set_title(name, fontsize=9)
        ax.axis("off")
    fig.suptitle(title or "where one output pixel (red star) samples the input")
    return save_figure(fig, path)


def plot_offset_heatmaps(model: SmallCNN, image: Tensor, path: str | Path) -> Path:
    """Mean |offset| per output location of each deformable layer, over the (upsampled) image."""
    model.eval()
    with torch.no_grad():
        model(image[None])
    layers = model.deform_layers()
    fig, axes = plt.subplots(1, len(layers) + 1, figsize=(4 * (len(layers) + 1), 3.8))
    axes[0].imshow(image.permute(1, 2, 0).numpy())
    axes[0].set_title("input")
    axes[0].axis("off")
    for k, (ax, layer) in enumerate(zip(axes[1:], layers)):
        mag = offset_magnitude(layer)
        im = ax.imshow(mag.numpy(), cmap="inferno")
        fig.colorbar(im, ax=ax, fraction=0.046, label="mean |offset| (feature pixels)")
        ax.set_title(f"deformable layer {k + 1}")
        ax.axis("off")
    fig.suptitle("how far the learned offsets move the kernel taps")
    return save_figure(fig, path)


def plot_experiment(results: dict[str, Any], path: str | Path) -> Path:
    """Test/train accuracy and test loss per epoch of the plain and the deformable network."""
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.6))
    for name, r in results["models"].items():
        ep = [h["epoch"] for h in r["history"]]
        a.plot(ep, [h["test_acc"] for h in r["history"]], "o-", label=f"{name} test")
        a.plot(ep, [h["train_acc"] for h in r["history"]], "--", alpha=0.6, label=f"{name} train")
        b.plot(ep, [h["test_loss"] for h in r["history"]], "o-", label=name)
    a.set_xlabel("epoch")
    a.set_ylabel("accuracy")
    a.legend(fontsize=8)
    b.set_xlabel("epoch")
    b.set_ylabel("test loss")
    b.legend(fontsize=8)
    fig.suptitle(f"plain vs deformable 3x3 layers on {results['data']}")
    return save_figure(fig, path)


def plot_dilation_by_scale(result: dict[str, Any], path: str | Path) -> Path:
    """Dai et al.'s Table 2 as a figure: each deformable layer's mean effective dilation over the object's pixels
    per scale bin, and over the background, pooled over training seeds (a box per bin)."""
    scale = np.asarray(result["scales"])
    layers = len(result["runs"][0]["layers"])
    fig, axes = plt.subplots(1, layers, figsize=(4.2 * layers, 3.8), sharey=True, squeeze=False)
    for k, ax in enumerate(axes[0]):
        boxes, labels = [], []
        for name, (lo, hi) in result["bins"].items():
            inside = (scale >= lo) & (scale < hi)
            boxes.append([v for run in result["runs"] for v, ok in zip(run["layers"][k]["object"], inside)
                          if ok and v == v])
            labels.append(f"{name}\n({lo:.2f}-{hi:.2f})")
        boxes.append([v for run in result["runs"] for v in run["layers"][k]["background"] if v == v])
        labels.append("background")
        ax.boxplot(boxes, showfliers=False)
        ax.set_xticks(range(1, len(labels) + 1), labels, fontsize=8)
        rhos = ", ".join(f"{run['layers'][k]['correlation']['rho']:+.2f}" for run in result["runs"])
        ax.set_title(f"deformable layer {k + 1}: rank correlation {rhos}", fontsize=9)
        ax.axhline(1.0, color="0.5", ls=":", lw=1)
    axes[0][0].set_ylabel("mean effective dilation (pixels)")
    fig.suptitle("how far apart the learned taps sample, by object size (Dai et al. 2017, Table 2)")
    return save_figure(fig, path)


def plot_small_and_large(model: SmallCNN, small: Tensor, large: Tensor, path: str | Path) -> Path:
    """Where the centre pixel of the last deformable layer samples (all three layers composed) on a small and on
    a large object, side by side: adaptation made visible."""
    fig, axes = plt.subplots(1, 2, figsize=(9, 4.6))
    model.eval()
    for ax, image, name in zip(axes, (small, large), ("smallest object", "largest object")):
        with torch.no_grad():
            model(image[None])
        layers = model.deform_layers()
        h = layers[-1].last_offset.shape[-2]
        pts = _to_input(receptive_points(layers, h / 2, h / 2)[-1], image.shape[-1] / h)
        ax.imshow(image.permute(1, 2, 0).numpy(), extent=(-0.5, image.shape[-1] - 0.5, image.shape[-2] - 0.5, -0.5))
        ax.scatter(pts[:, 1], pts[:, 0], s=4, c="yellow", edgecolors="black", linewidths=0.2)
        ax.set_title(f"{name}: {len(pts)} sampling points of one pixel", fontsize=9)
        ax.axis("off")
    return save_figure(fig, path)
