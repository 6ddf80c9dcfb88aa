"""Gradient flow: how much gradient reaches each layer, and each block's input, in depth order.

For every trainable parameter whose name contains ``weight`` (``named_parameters()`` order), the mean and max of
|dL/dW| per batch, averaged over batches; for every block (conv / residual block / classifier), the RMS of
dL/dx at its input, taken with a tensor hook. A net whose early layers receive orders of magnitude less
gradient than its late layers trains its early layers slowly: that ratio is the number to compare.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from torch import Tensor, nn

from neuralens.core.io import atomic_path
from neuralens.models.cifar_nets import BasicBlock

#: class names of residual blocks in common CIFAR/ImageNet codes (torchvision, kuangliu, akamaster, ...)
RESIDUAL_BLOCKS = ("BasicBlock", "Bottleneck", "PreActBlock", "PreActBottleneck")


def block_modules(model: nn.Module) -> tuple[list[tuple[str, nn.Module]], str]:
    """The modules whose input gradients describe flow through depth, and the rule that found them.

    Rule: modules whose class is one of :data:`RESIDUAL_BLOCKS` (by name, so any model's own blocks count),
    plus the convs outside them before the first block (the stem) and the linear layers (the head); a model
    without such blocks (VGG, a plain stack) uses every conv and linear layer.
    """
    named = list(model.named_modules())
    blocks = [(n, m) for n, m in named if isinstance(m, BasicBlock) or type(m).__name__ in RESIDUAL_BLOCKS]
    if not blocks:
        return ([(n, m) for n, m in named if isinstance(m, (nn.Conv2d, nn.Linear))],
                "no residual blocks found: every conv and linear layer")
    inside = tuple(n + "." for n, _ in blocks)
    first = next(i for i, (n, _) in enumerate(named) if n == blocks[0][0])
    stem = [(n, m) for n, m in named[:first] if isinstance(m, nn.Conv2d) and not n.startswith(inside)]
    head = [(n, m) for n, m in named if isinstance(m, nn.Linear) and not n.startswith(inside)]
    names = sorted({type(m).__name__ for _, m in blocks})
    return stem + blocks + head, f"residual blocks ({', '.join(names)}) with the stem convs and the head"


def weight_names(model: nn.Module) -> list[str]:
    return [n for n, p in model.named_parameters() if p.requires_grad and "weight" in n]


def gradient_flow(model: nn.Module, batches: Iterable[tuple[Tensor, Tensor]],
                  loss_fn: nn.Module | None = None) -> dict[str, Any]:
    """Run forward+backward (train mode) on each batch and average per-layer gradient statistics."""
    loss_fn = loss_fn or nn.CrossEntropyLoss()
    names = weight_names(model)
    params = dict(model.named_parameters())
    blocks, block_rule = block_modules(model)
    sums = {n: [0.0, 0.0] for n in names}
    block_sums = {n: 0.0 for n, _ in blocks}
    captured: dict[str, float] = {}

    def make_hook(name: str) -> Any:
        def fwd_hook(mod: nn.Module, args: tuple[Tensor, ...]) -> None:
            x = args[0]
            if x.requires_grad:
                x.register_hook(lambda g: captured.__setitem__(name, float(g.pow(2).mean().sqrt())))

        return fwd_hook

    handles = [m.register_forward_pre_hook(make_hook(n)) for n, m in blocks]
    model.train()
    n_batches, losses, per_batch = 0, [], []
    try:
        for x, y in batches:
            captured.clear()
            model.zero_grad(set_to_none=True)
            loss = loss_fn(model(x.detach().requires_grad_(True)), y)
            loss.backward()
            losses.append(float(loss.detach()))
            for n in names:
                g = params[n].grad
                if g is not None:
                    a = g.abs()
                    sums[n][0] += float(a.mean())
                    sums[n][1] += float(a.max())
            for n in block_sums:
                block_sums[n] += captured.get(n, 0.0)
            seen = [captured.get(n, 0.0) for n, _ in blocks if captured.get(n, 0.0) > 0]
            per_batch.append(seen[0] / seen[-1] if len(seen) > 1 else float("nan"))
            n_batches += 1
    finally:
        for h in handles:
            h.remove()
        model.zero_grad(set_to_none=True)
    k = max(n_batches, 1)
    layers = [{"name": n, "mean_abs_grad": sums[n][0] / k, "max_abs_grad": sums[n][1] / k} for n in names]
    block_list = [{"name": n, "input_grad_rms": block_sums[n] / k} for n, _ in blocks]
    return {"layers": layers, "blocks": block_list, "block_rule": block_rule,
            "summary": summarize(layers, block_list), "loss": sum(losses) / k, "batches": n_batches,
            "per_batch_first_to_last_block_input_grad": per_batch}


def summarize(layers: list[dict[str, float]], blocks: list[dict[str, float]]) -> dict[str, float]:
    """first/last mean |grad| ratio, share of layers below 1e-3 of the largest, and the same for blocks."""
    means = [entry["mean_abs_grad"] for entry in layers]
    top = max(means) if means else 0.0
    bl = [b["input_grad_rms"] for b in blocks if b["input_grad_rms"] > 0]
    return {
        "first_to_last_mean_grad": means[0] / means[-1] if means and means[-1] > 0 else float("nan"),
        "share_below_1e-3_of_max": sum(m < 1e-3 * top for m in means) / len(means) if means else float("nan"),
        "min_to_max_mean_grad": min(means) / top if top > 0 else float("nan"),
        "first_to_last_block_input_grad": bl[0] / bl[-1] if len(bl) > 1 else float("nan"),
        "n_layers": len(means),
    }


def write_csv(result: dict[str, dict[str, Any]], path: str | Path) -> Path:
    """One row per (model, layer): model, index, relative depth, name, mean and max |grad|."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["model", "index", "relative_depth", "name", "mean_abs_grad", "max_abs_grad"])
    for model, res in result.items():
        n = len(res["layers"])
        for i, layer in enumerate(res["layers"]):
            w.writerow([model, i, i / max(n - 1, 1), layer["name"], layer["mean_abs_grad"], layer["max_abs_grad"]])
    with atomic_path(path) as tmp:
        tmp.write_text(buf.getvalue())
    return Path(path)
