"""The shortcut question answered by depth, as He et al. 2016 (section 4.2) and Li et al. 2018 answer it.

A depth series: nets of one layer recipe at several depths, each with identity shortcuts (``resnetN``) and without
(``plainN``: the same layers and parameters). At initialisation, over seeds, the gradient reaching the first
residual block against the last one's (stem and head left out: they scale the ratio alike at every depth):
with batch norm a plain stack's gradient grows about 1.2x per layer backwards (Yang et al. 2019), so the ratio
explodes with depth, while the shortcut keeps it polynomial. The same without batch norm is a separate condition.
A user's own series is described by counting its weight layers (convs wider than 1x1 and linear layers, He et al.'s
depth) and by finding a shortcut in its traced graph (an addition of two activations).
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from neuralens.cnn.gradflow import RESIDUAL_BLOCKS, block_modules, gradient_flow
from neuralens.core.plotting import plt, save_figure

DEPTHS = (8, 20, 56, 110)
FAMILIES = ("resnet", "plain")


def without_batchnorm(model: nn.Module) -> nn.Module:
    """``model`` with every BatchNorm layer replaced by the identity (the "without batch norm" condition)."""
    for name, child in model.named_children():
        if isinstance(child, nn.modules.batchnorm._BatchNorm):
            setattr(model, name, nn.Identity())
        else:
            without_batchnorm(child)
    return model


def weight_depth(model: nn.Module) -> int:
    """He et al.'s depth: convs with a kernel wider than 1x1 plus linear layers (a 1x1 projection shortcut and
    the parameter-free option A add none)."""
    return sum(isinstance(m, nn.Linear) or (isinstance(m, nn.Conv2d) and max(m.kernel_size) > 1)
               for m in model.modules())


def has_shortcut(model: nn.Module) -> bool | None:
    """Whether the traced graph adds two activations (an identity or projection shortcut); None when the model
    cannot be traced symbolically (say its family with the spec's name then)."""
    try:
        graph = torch.fx.symbolic_trace(model).graph
    except Exception:
        return None
    adds = (operator.add, operator.iadd, torch.add)
    for node in graph.nodes:
        if (node.op == "call_function" and node.target in adds) or (node.op == "call_method" and
                                                                    node.target in ("add", "add_")):
            if sum(isinstance(a, torch.fx.Node) for a in node.args) == 2:
                return True
    return False


def inner_blocks(result: dict[str, Any], model: nn.Module) -> list[float]:
    """Block-input gradient RMS of a :func:`gradient_flow` result, stem and head left out: the residual blocks,
    or for a net without block classes its convs after the first and before the head."""
    blocks, _ = block_modules(model)
    kinds = {n: m for n, m in blocks}
    rms = [b["input_grad_rms"] for b in result["blocks"]]
    names = [b["name"] for b in result["blocks"]]
    inner = [r for n, r in zip(names, rms) if type(kinds[n]).__name__ in RESIDUAL_BLOCKS]
    if inner:
        return inner
    convs = [r for n, r in zip(names, rms) if isinstance(kinds[n], nn.Conv2d)]
    return convs[1:] or convs


def init_gradients(build: Callable[[int], nn.Module], seeds: list[int], x: Tensor, y: Tensor,
                   batch_norm: bool = True) -> dict[str, Any]:
    """One net at initialisation over ``seeds`` (``build(seed)`` initialises it reproducibly): first/last inner
    block-input gradient per seed, and each seed's profile (block-input gradient RMS over the inner blocks,
    divided by the last one's)."""
    ratios, profiles = [], []
    for s in seeds:
        model = build(s)
        if not batch_norm:
            without_batchnorm(model)
        inner = inner_blocks(gradient_flow(model, [(x, y)]), model)
        ratios.append(inner[0] / inner[-1] if len(inner) > 1 and inner[-1] > 0 else math.nan)
        profiles.append([v / inner[-1] for v in inner] if inner and inner[-1] > 0 else [])
    return {"ratios": ratios, "profiles": profiles}


def plot_ratios(grad: dict[str, dict[str, Any]], nets: dict[str, dict[str, Any]], path: Path, title: str) -> Path:
    """First/last block-input gradient against depth (log scale), one line per family, min..max over seeds."""
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for fam in sorted({n["family"] for n in nets.values()}):
        names = sorted((n for n in nets if nets[n]["family"] == fam and n in grad), key=lambda n: nets[n]["depth"])
        d = [nets[n]["depth"] for n in names]
        lo = [min(grad[n]["ratios"]) for n in names]
        hi = [max(grad[n]["ratios"]) for n in names]
        mid = [math.exp(sum(math.log(r) for r in grad[n]["ratios"]) / len(grad[n]["ratios"])) for n in names]
        ax.plot(d, mid, "o-", label=fam)
        ax.fill_between(d, lo, hi, alpha=0.25)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.axhline(1.0, color="0.5", ls=":", lw=1)
    ax.set_xlabel("depth (weight layers)")
    ax.set_ylabel("first / last block-input gradient at init")
    ax.set_title(title, fontsize=10)
    ax.legend()
    return save_figure(fig, path)


def plot_profiles(grad: dict[str, dict[str, Any]], nets: dict[str, dict[str, Any]], path: Path) -> Path:
    """Each net's block-input gradient through its blocks (seed 0), relative to its last block, against relative
    depth: the plain nets' curves steepen with depth, the residual ones' stay flat."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True)
    for ax, fam in zip(axes, FAMILIES if all(n["family"] in FAMILIES for n in nets.values()) else
                       sorted({n["family"] for n in nets.values()})):
        for n in sorted((n for n in nets if nets[n]["family"] == fam and n in grad), key=lambda n: nets[n]["depth"]):
            prof = grad[n]["profiles"][0]
            ax.plot([i / max(len(prof) - 1, 1) for i in range(len(prof))], prof, label=n)
        ax.set_yscale("log")
        ax.set_title(fam, fontsize=10)
        ax.set_xlabel("relative depth of the block")
        ax.legend(fontsize=7)
    axes[0].set_ylabel("block-input gradient / the last block's")
    return save_figure(fig, path)


def plot_histories(histories: dict[str, list[dict[str, float]]], nets: dict[str, dict[str, Any]], path: Path,
                   xlabel: str) -> Path:
    """Training loss and test accuracy against training, plain and residual side by side (He et al.'s Figure 6
    in miniature): a plain net deeper than its twin training worse is the degradation problem."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for name, hist in sorted(histories.items(), key=lambda kv: (nets[kv[0]]["family"], nets[kv[0]]["depth"])):
        style = "-" if nets[name]["family"] != "plain" else "--"
        xs = [h.get("step", i + 1) for i, h in enumerate(hist)]  # (steps of a short training; else epochs)
        axes[0].plot(xs, [h["train_loss"] for h in hist], style, label=name)
        axes[1].plot(xs, [h["test_acc"] for h in hist], style, label=name)
    axes[0].set_ylabel("training loss")
    axes[1].set_ylabel("test accuracy")
    for ax in axes:
        ax.set_xlabel(xlabel)
        ax.legend(fontsize=7)
    return save_figure(fig, path)


def plot_surfaces(trained: dict[str, dict[str, Any]], nets: dict[str, dict[str, Any]], path: Path) -> Path:
    """Each trained net's loss on its filter-normalised plane (contours, the net at the centre), residual nets
    above, their plain twins below, by depth: Li et al.'s Figure 5 in miniature."""
    names = sorted((n for n in trained if "curvature" in trained[n]), key=lambda n: (nets[n]["family"] == "plain",
                                                                                     nets[n]["depth"]))
    cols = max(1, sum(nets[n]["family"] != "plain" for n in names), sum(nets[n]["family"] == "plain" for n in names))
    fig, axes = plt.subplots(2, cols, figsize=(3.2 * cols, 6.2), squeeze=False)
    for ax in axes.flat:
        ax.set_visible(False)
    counts = {"resnet": 0, "plain": 0}
    for n in names:
        row = int(nets[n]["family"] == "plain")
        ax = axes[row, counts["plain" if row else "resnet"]]
        counts["plain" if row else "resnet"] += 1
        loss = torch.tensor(trained[n]["curvature"]["loss"])
        ax.set_visible(True)
        ax.contour(loss.numpy(), levels=15, cmap="viridis")
        ax.set_title(f"{n}: roughness {trained[n]['curvature']['roughness']:.3f}", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    return save_figure(fig, path)
