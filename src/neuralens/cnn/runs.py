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
from neuralens.models.spec import ModelSpec, build_model, checkpoint_config, parse_model_spec


def is_rank0() -> bool:
    """True outside torchrun and on its rank 0: the one process that writes the run folder."""
    return not in_distributed_run() or int(os.environ.get("RANK", "0")) == 0


def check_landscape_steps(steps: int) -> None:
    """The model itself must be a grid point: an odd number of steps, at least 3."""
    if steps % 2 == 0 or steps < 3:
        raise NeuralensError(f"--steps must be odd and >= 3 so the model itself is a grid point, got {steps}")


def study_model(spec: ModelSpec, weights: str | None, normalize: str | None, num_classes: int, width: float,
                seed: int, init: bool = False) -> torch.nn.Module:
    """``spec`` with its weights, or (``init``, or no weights and no hub) at initialisation, reproducibly: the same
    seed gives the same initial weights. An initial model takes a neuralens checkpoint's width, so it is the
    same architecture as the trained one."""
    torch.manual_seed(seed)
    if init:
        saved = checkpoint_config(weights) or {}
        return build_model(spec, num_classes, float(saved.get("width", width)), None, normalize, hub_pretrained=False)
    return build_model(spec, num_classes, width, weights, normalize)


def has_weights(spec: ModelSpec, weights: str | None) -> bool:
    """Whether the study sees a trained model besides the initial one (hub entries come pretrained)."""
    return bool(weights) or spec.kind == "hub"


def run_gradflow(models: list[str], weights: list[str], data: ImageData, width: float, batches: int,
                 batch_size: int, seed: int, out: Path, normalize: str | None = None) -> dict[str, Any]:
    """Gradient statistics of each model at init, and trained where it has weights; JSON, CSV and figures.

    ``weights`` gives one entry per model ("" for none), or is empty. Result keys are the models' flat names
    (``name@init`` for the initial model when any model has weights); the full specs are in ``specs``.
    """
    specs = [parse_model_spec(m) for m in models]
    if weights and len(weights) != len(models):
        raise NeuralensError(f"--weights: give one per model ({len(models)}), got {len(weights)}")
    weights = weights or [""] * len(models)
    n = min(batches * batch_size, len(data.x_train))
    if n < batch_size:
        raise NeuralensError(f"need at least --batch-size {batch_size} training images, have {len(data.x_train)}")
    x, y = to_float(data.x_train[:n]), data.y_train[:n]
    chunks = [(x[i:i + batch_size], y[i:i + batch_size]) for i in range(0, n - batch_size + 1, batch_size)]
    results: dict[str, Any] = {}
    described: dict[str, Any] = {}
    any_trained = any(has_weights(sp, w or None) for sp, w in zip(specs, weights))
    for spec, w in zip(specs, weights):
        key = f"{spec.slug}@init" if any_trained else spec.slug
        log(f"gradflow: {key}")
        results[key] = gradient_flow(study_model(spec, w or None, normalize, data.num_classes, width, seed, True),
                                     chunks)
        described[key] = {"model": spec.text, "weights": None, "normalize": normalize or spec.default_normalize}
        if has_weights(spec, w or None):
            log(f"gradflow: {spec.slug} (trained, {w or 'published hub weights'})")
            results[spec.slug] = gradient_flow(study_model(spec, w or None, normalize, data.num_classes, width,
                                                           seed), chunks)
            described[spec.slug] = {**described[key], "weights": w or "hub"}
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "gradflow.json", {"models": results, "specs": described, "data": data.source,
                                       "batches": len(chunks), "batch_size": batch_size, "width": width})
    write_csv(results, out / "gradflow.csv")
    for key, res in results.items():
        plot_bars(key, res, out / f"gradflow_{key.replace('@', '_')}.png")
    main = {k: v for k, v in results.items() if not k.startswith("vgg16_bn")}
    plot_overlay(main, out / "gradflow_overlay.png", "mean |grad| against depth: VGG16 vs ResNet18")
    bn = {k: v for k, v in results.items() if k.startswith("vgg16")}
    if any(k.startswith("vgg16_bn") for k in bn) and len(bn) > 1:
        plot_overlay(bn, out / "gradflow_vgg_bn.png", "VGG16 without vs with batch norm")
    return results


def run_landscape(model_spec: str, weights: str | None, data: ImageData, width: float, steps: int,
                  distance: float, eval_size: int, seed: int, hessian_iters: int, out: Path, interp_steps: int = 21,
                  normalize: str | None = None) -> dict[str, Any]:
    """One model's 2-D plane, axis lines, init->trained interpolation; writes landscape.npz/json + figures."""
    spec = parse_model_spec(model_spec)
    check_landscape_steps(steps)
    trained = has_weights(spec, weights)
    model = study_model(spec, weights, normalize, data.num_classes, width, seed, init=not trained)
    name = spec.slug
    n = min(eval_size, len(data.x_test))
    x, y = to_float(data.x_test[:n]), data.y_test[:n]
    res = compute_landscape(model, x, y, steps, distance, seed, hessian_iters=hessian_iters)
    if not is_rank0():
        return res
    save_npz(out / "landscape.npz", alphas=res["alphas"], betas=res["betas"], loss=res["loss"],
             accuracy=res["accuracy"])
    meta: dict[str, Any] = {"model": name, "spec": spec.text, "weights": weights,
                            "normalize": normalize or spec.default_normalize, "checkpoint": weights, "steps": steps,
                            "distance": distance, "eval_size": n, "seed": seed, "data": data.source,
                            "sharpness": res["sharpness"]}
    if trained:
        init = study_model(spec, weights, normalize, data.num_classes, width, seed, init=True)
        curve = interpolate(init, model, LossAccuracy(x, y), interp_steps)
        save_npz(out / "interpolation.npz", t=np.linspace(0, 1, interp_steps), loss=curve[:, 0],
                 accuracy=curve[:, 1])
        plot_interpolation({name: curve}, out / "interpolation.png", "t: init (0) -> trained (1)")
        meta["interpolation"] = {"loss_init": float(curve[0, 0]), "loss_trained": float(curve[-1, 0]),
                                 "max_loss_on_path": float(curve[:, 0].max())}
    write_json(out / "landscape.json", meta)
    plot_landscapes({name: res}, out)
    return res


