"""The CNN study's run-folder producers: gradient flow and landscape runs, used by the CLI and the demo."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from neuralens.cnn.gradflow import gradient_flow, write_csv
from neuralens.cnn.landscape import LossAccuracy, compute_landscape, in_distributed_run, interpolate
from neuralens.cnn.viz import plot_bars, plot_interpolation, plot_landscapes, plot_overlay
from neuralens.core.errors import NeuralensError
from neuralens.core.io import log, save_npz, write_json
from neuralens.data.cifar import ImageData, to_float
from neuralens.models import create_model, load_classifier
from neuralens.models.registry import check_model_name


def is_rank0() -> bool:
    """True outside torchrun and on its rank 0: the one process that writes the run folder."""
    return not in_distributed_run() or int(os.environ.get("RANK", "0")) == 0


def check_landscape_steps(steps: int) -> None:
    """The model itself must be a grid point: an odd number of steps, at least 3."""
    if steps % 2 == 0 or steps < 3:
        raise NeuralensError(f"--steps must be odd and >= 3 so the model itself is a grid point, got {steps}")


def fresh_model(name: str, width: float, num_classes: int, seed: int) -> torch.nn.Module:
    """The model at initialisation, reproducibly (same seed, same weights)."""
    torch.manual_seed(seed)
    return create_model(name, num_classes=num_classes, width=width)


def run_gradflow(models: list[str], checkpoints: list[str], data: ImageData, width: float, batches: int,
                 batch_size: int, seed: int, out: Path) -> dict[str, Any]:
    """Gradient statistics for each model at init (and trained, with a checkpoint); JSON, CSV and figures."""
    for m in models:
        check_model_name(m)
    if checkpoints and len(checkpoints) != len(models):
        raise NeuralensError(f"--checkpoint: give one per model ({len(models)}), got {len(checkpoints)}")
    n = min(batches * batch_size, len(data.x_train))
    if n < batch_size:
        raise NeuralensError(f"need at least --batch-size {batch_size} training images, have {len(data.x_train)}")
    x, y = to_float(data.x_train[:n]), data.y_train[:n]
    chunks = [(x[i:i + batch_size], y[i:i + batch_size]) for i in range(0, n - batch_size + 1, batch_size)]
    results: dict[str, Any] = {}
    for k, name in enumerate(models):
        key = f"{name}@init" if checkpoints else name
        log(f"gradflow: {key}")
        results[key] = gradient_flow(fresh_model(name, width, data.num_classes, seed), chunks)
        if checkpoints and checkpoints[k]:
            model, _ = load_classifier(checkpoints[k], name)
            log(f"gradflow: {name} (trained, {checkpoints[k]})")
            results[name] = gradient_flow(model, chunks)
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "gradflow.json", {"models": results, "data": data.source, "batches": len(chunks),
                                       "batch_size": batch_size, "width": width})
    write_csv(results, out / "gradflow.csv")
    for key, res in results.items():
        plot_bars(key, res, out / f"gradflow_{key.replace('@', '_')}.png")
    main = {k: v for k, v in results.items() if not k.startswith("vgg16_bn")}
    plot_overlay(main, out / "gradflow_overlay.png", "mean |grad| against depth: VGG16 vs ResNet18")
    bn = {k: v for k, v in results.items() if k.startswith("vgg16")}
    if any(k.startswith("vgg16_bn") for k in bn) and len(bn) > 1:
        plot_overlay(bn, out / "gradflow_vgg_bn.png", "VGG16 without vs with batch norm")
    return results


def run_landscape(name: str, checkpoint: str | None, data: ImageData, width: float, steps: int, distance: float,
                  eval_size: int, seed: int, hessian_iters: int, out: Path, interp_steps: int = 21) -> dict[str, Any]:
    """One model's 2-D plane, axis lines, init->trained interpolation; writes landscape.npz/json + figures."""
    check_model_name(name)
    check_landscape_steps(steps)
    if checkpoint:
        model, _ = load_classifier(checkpoint, name)
    else:
        model = fresh_model(name, width, data.num_classes, seed)
    n = min(eval_size, len(data.x_test))
    x, y = to_float(data.x_test[:n]), data.y_test[:n]
    res = compute_landscape(model, x, y, steps, distance, seed, hessian_iters=hessian_iters)
    if not is_rank0():
        return res
    save_npz(out / "landscape.npz", alphas=res["alphas"], betas=res["betas"], loss=res["loss"],
             accuracy=res["accuracy"])
    meta: dict[str, Any] = {"model": name, "checkpoint": checkpoint, "steps": steps, "distance": distance,
                            "eval_size": n, "seed": seed, "data": data.source, "sharpness": res["sharpness"]}
    if checkpoint:
        init = fresh_model(name, width, data.num_classes, seed)
        curve = interpolate(init, model, LossAccuracy(x, y), interp_steps)
        save_npz(out / "interpolation.npz", t=np.linspace(0, 1, interp_steps), loss=curve[:, 0],
                 accuracy=curve[:, 1])
        plot_interpolation({name: curve}, out / "interpolation.png", "t: init (0) -> trained (1)")
        meta["interpolation"] = {"loss_init": float(curve[0, 0]), "loss_trained": float(curve[-1, 0]),
                                 "max_loss_on_path": float(curve[:, 0].max())}
    write_json(out / "landscape.json", meta)
    plot_landscapes({name: res}, out)
    return res


