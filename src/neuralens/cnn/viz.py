"""The CNN study's figures: confusion matrix, labelled predictions, training curves, gradient flow, landscapes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from neuralens.core.plotting import COLORS, plt, save_figure


def plot_confusion(confusion: torch.Tensor, classes: list[str], path: str | Path, title: str = "") -> Path:
    """Row-normalised confusion matrix (rows: true class), with counts in each cell."""
    cm = confusion.numpy().astype(float)
    norm = cm / np.maximum(cm.sum(1, keepdims=True), 1)
    k = len(classes)
    fig, ax = plt.subplots(figsize=(1.0 + 0.55 * k, 0.8 + 0.5 * k))
    im = ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(k), classes, rotation=45, ha="right")
    ax.set_yticks(range(k), classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.grid(False)
    for i in range(k):
        for j in range(k):
            ax.text(j, i, f"{int(cm[i, j])}", ha="center", va="center", fontsize=7,
                    color="white" if norm[i, j] > 0.5 else "black")
    fig.colorbar(im, ax=ax, fraction=0.046, label="fraction of true class")
    ax.set_title(title or "confusion matrix")
    return save_figure(fig, path)


def plot_predictions(images: torch.Tensor, true: torch.Tensor, pred: torch.Tensor, classes: list[str],
                     path: str | Path, cols: int = 8, title: str = "") -> Path:
    """Grid of uint8 NCHW images labelled 'pred (true)'; green when correct, red when wrong."""
    n = len(images)
    rows = max(1, int(np.ceil(n / cols)))
    fig, axes = plt.subplots(rows, cols, figsize=(1.6 * cols, 1.8 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for i in range(n):
        ax = axes.flat[i]
        ax.imshow(images[i].permute(1, 2, 0).numpy())
        ok = bool(pred[i] == true[i])
        ax.set_title(f"{classes[int(pred[i])]}\n({classes[int(true[i])]})", fontsize=8,
                     color="green" if ok else "red")
    fig.suptitle(title or "predicted (true)")
    return save_figure(fig, path)


def plot_history(history: list[dict[str, float]], path: str | Path, title: str = "") -> Path:
    """Train/test loss and accuracy per epoch."""
    ep = [h["epoch"] for h in history]
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.2))
    a.plot(ep, [h["train_loss"] for h in history], "o-", label="train")
    a.plot(ep, [h["test_loss"] for h in history], "s-", label="test")
    a.set_xlabel("epoch")
    a.set_ylabel("loss")
    a.legend()
    b.plot(ep, [h["train_acc"] for h in history], "o-", label="train")
    b.plot(ep, [h["test_acc"] for h in history], "s-", label="test")
    b.set_xlabel("epoch")
    b.set_ylabel("accuracy")
    b.legend()
    fig.suptitle(title or "training")
    return save_figure(fig, path)


def _color(name: str) -> str | None:
    return COLORS.get(name.split("@")[0])


def plot_bars(name: str, res: dict[str, Any], path: str | Path) -> Path:
    """The classic gradient-flow chart: max and mean |grad| per layer, log scale."""
    layers = res["layers"]
    x = range(len(layers))
    fig, ax = plt.subplots(figsize=(max(6, 0.32 * len(layers)), 4))
    ax.bar(x, [entry["max_abs_grad"] for entry in layers], color="c", alpha=0.6, label="max |grad|")
    ax.bar(x, [entry["mean_abs_grad"] for entry in layers], color="b", alpha=0.8, label="mean |grad|")
    ax.set_yscale("log")
    ax.set_xticks(list(x), [entry["name"].removesuffix(".weight") for entry in layers], rotation=90, fontsize=7)
    ax.set_ylabel("|dL/dW|")
    ax.set_title(f"gradient flow: {name}")
    ax.legend()
    return save_figure(fig, path)


def plot_overlay(results: dict[str, dict[str, Any]], path: str | Path, title: str = "") -> Path:
    """Mean |grad| of weights (left) and RMS input gradient of blocks (right) against relative depth."""
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    for name, res in results.items():
        style = "--" if "@init" in name else "-"
        means = [entry["mean_abs_grad"] for entry in res["layers"]]
        a.plot([i / max(len(means) - 1, 1) for i in range(len(means))], means, style, marker="o", ms=3,
               color=_color(name), label=name)
        bl = [blk["input_grad_rms"] for blk in res["blocks"]]
        b.plot([i / max(len(bl) - 1, 1) for i in range(len(bl))], bl, style, marker="s", ms=3, color=_color(name),
               label=name)
    for ax, ylabel in ((a, "mean |dL/dW| of weight tensors"), (b, "RMS dL/dx at block input")):
        ax.set_yscale("log")
        ax.set_xlabel("relative depth (0 = input, 1 = output)")
        ax.set_ylabel(ylabel)
        ax.legend(fontsize=8)
    fig.suptitle(title or "gradient flow against depth")
    return save_figure(fig, path)


def _levels(vmin: float, vmax: float, n: int = 25) -> np.ndarray:
    lo = max(vmin, 1e-3)
    return np.geomspace(lo, max(vmax, lo * 1.01), n)


def plot_landscapes(results: dict[str, dict[str, Any]], out: Path, clip: float | None = None) -> list[Path]:
    """Contours (log-spaced levels), 3-D surfaces and the two axis lines, models side by side on one scale."""
    names = list(results)
    vmin = min(float(np.nanmin(r["loss"])) for r in results.values())
    vmax = max(float(np.nanmax(r["loss"])) for r in results.values())
    if clip is not None:
        vmax = min(vmax, clip)
    levels = _levels(vmin, vmax)
    paths = []
    fig, axes = plt.subplots(1, len(names), figsize=(5.2 * len(names), 4.4), squeeze=False)
    for ax, name in zip(axes[0], names):
        r = results[name]
        cs = ax.contour(r["betas"], r["alphas"], np.clip(r["loss"], None, vmax), levels=levels, cmap="viridis",
                        norm=plt.matplotlib.colors.LogNorm(levels[0], levels[-1]))
        ax.clabel(cs, cs.levels[::4], fontsize=7, fmt="%.2g")
        ax.plot(0, 0, "r*", ms=10)
        ax.set_title(f"{name}: loss contours (log levels)")
        ax.set_xlabel("beta (direction 2)")
        ax.set_ylabel("alpha (direction 1)")
        ax.set_aspect("equal")
    paths.append(save_figure(fig, out / "landscape_contour.png"))
    fig = plt.figure(figsize=(5.5 * len(names), 4.6))
    for k, name in enumerate(names):
        r = results[name]
        ax = fig.add_subplot(1, len(names), k + 1, projection="3d")
        b, a = np.meshgrid(r["betas"], r["alphas"])
        ax.plot_surface(b, a, np.clip(r["loss"], None, vmax), cmap="viridis", vmin=vmin, vmax=vmax,
                        linewidth=0, antialiased=True)
        ax.set_zlim(vmin, vmax)
        ax.set_title(f"{name}: loss surface")
        ax.set_xlabel("beta")
        ax.set_ylabel("alpha")
    paths.append(save_figure(fig, out / "landscape_surface.png"))
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for name in names:
        r = results[name]
        c = len(r["alphas"]) // 2
        ax.plot(r["alphas"], r["loss"][:, c], "-", color=COLORS.get(name), label=f"{name}, direction 1")
        ax.plot(r["betas"], r["loss"][c, :], "--", color=COLORS.get(name), label=f"{name}, direction 2")
    ax.set_yscale("log")
    methods = sorted({results[n].get("sharpness", results[n].get("meta", {}).get("sharpness", {})).get(
        "directions", "filter") for n in names})
    ax.set_xlabel(f"step along a random direction ({', '.join(methods)}-normalised)")
    ax.set_ylabel("loss")
    ax.set_title("1-D slices through the model")
    ax.legend(fontsize=8)
    paths.append(save_figure(fig, out / "landscape_1d.png"))
    return paths


def plot_interpolation(curves: dict[str, np.ndarray], path: Path, xlabel: str) -> Path:
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.6))
    for name, c in curves.items():
        t = np.linspace(0, 1, len(c))
        a.plot(t, c[:, 0], color=COLORS.get(name), label=name)
        b.plot(t, c[:, 1], color=COLORS.get(name), label=name)
    a.set_yscale("log")
    a.set_ylabel("loss")
    b.set_ylabel("accuracy")
    for ax in (a, b):
        ax.set_xlabel(xlabel)
        ax.legend()
    return save_figure(fig, path)


def plot_hessian(result: dict[str, Any], out: Path) -> list[Path]:
    """The eigenvalue spectral density (log scale, as PyHessian draws it) and each layer's top eigenvalue."""
    d = result["density"]
    fig, ax = plt.subplots(figsize=(6.5, 4))
    ax.semilogy(d["grid"], np.maximum(d["density"], 1e-12), color=_color(result["model"]) or "C0")
    for k, top in enumerate(result["top_eigenvalues"]["spread"]):
        ax.axvline(top["mean"], color="0.5", ls=":", lw=1, label=None if k else "top eigenvalues (mean over seeds)")
    ax.set_xlabel("eigenvalue")
    ax.set_ylabel("density")
    ax.set_title(f"{result['model']}: Hessian eigenvalue density (SLQ, {d['steps']} steps, {d['runs']} run(s))")
    ax.legend(fontsize=8)
    paths = [save_figure(fig, out / "hessian_density.png")]
    if result["layers"]:
        names = list(result["layers"])
        fig, ax = plt.subplots(figsize=(max(6, 0.32 * len(names)), 4))
        ax.bar(range(len(names)), [abs(result["layers"][n]) for n in names], color=_color(result["model"]) or "C0")
        ax.set_yscale("log")
        ax.set_xticks(range(len(names)), [n.removesuffix(".weight") for n in names], rotation=90, fontsize=7)
        ax.set_ylabel("|top eigenvalue| of the layer's block")
        ax.set_title(f"{result['model']}: per-layer Hessian top eigenvalue (block-diagonal)")
        paths.append(save_figure(fig, out / "hessian_layers.png"))
    return paths


def plot_trajectory(res: dict[str, Any], coords: np.ndarray, epochs: list[int], explained: list[float], path: Path,
                    title: str) -> Path:
    """Loss contours on the PCA plane with the training path projected on it, one point per epoch."""
    fig, ax = plt.subplots(figsize=(6.2, 5.2))
    loss = res["loss"]
    levels = _levels(float(np.nanmin(loss)), float(np.nanmax(loss)))
    cs = ax.contour(res["betas"], res["alphas"], loss, levels=levels, cmap="viridis",
                    norm=plt.matplotlib.colors.LogNorm(levels[0], levels[-1]))
    ax.clabel(cs, cs.levels[::4], fontsize=7, fmt="%.2g")
    ax.plot(coords[:, 1], coords[:, 0], "-o", color="#d62728", ms=3.5, lw=1.2, label="training path")
    for k in {0, len(epochs) // 2, len(epochs) - 1}:
        ax.annotate(f"epoch {epochs[k]}", (coords[k, 1], coords[k, 0]), fontsize=7, xytext=(4, 4),
                    textcoords="offset points")
    ax.plot(0, 0, "k*", ms=10, label="final weights")
    ax.set_xlabel(f"2nd PCA direction ({100 * explained[1]:.1f}% of the variance)")
    ax.set_ylabel(f"1st PCA direction ({100 * explained[0]:.1f}% of the variance)")
    ax.set_title(f"{title}: the optimiser's path on the loss")  # axes to scale of the path, not equal
    ax.legend(fontsize=8, loc="best")
    return save_figure(fig, path)
