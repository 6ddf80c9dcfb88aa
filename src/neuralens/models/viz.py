"""Figures for classifiers: confusion matrix, labelled predictions, training curves."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from neuralens.plotting import plt, save_figure


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
