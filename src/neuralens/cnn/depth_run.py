"""``neuralens depth``: the depth series measured, written (``depth.json``, figures) and judged per depth.

Registry nets by default (``resnetN`` / ``plainN`` for each ``--depths`` N, width 1 as He et al.); a user's own
series as model specs, each net's depth and family read off the net itself (:mod:`neuralens.cnn.depth`). Trained
evidence comes from weights: the shipped cards (their accuracy and per-epoch history) or the user's ``--weights``
scored on the test images.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from neuralens.cnn.curvature import nonconvexity_map, roughness
from neuralens.cnn.depth import (
    has_shortcut,
    init_gradients,
    plot_histories,
    plot_profiles,
    plot_ratios,
    plot_surfaces,
    weight_depth,
)
from neuralens.cnn.landscape import compute_landscape, direction_pair
from neuralens.cnn.runs import study_model
from neuralens.core.errors import NeuralensError
from neuralens.core.io import write_json
from neuralens.core.progress import progress
from neuralens.data.cifar import ImageData, to_float
from neuralens.models.cards import SHIPPED, read_card
from neuralens.models.recipe import TrainConfig
from neuralens.models.spec import ModelSpec
from neuralens.models.train import evaluate, train


@dataclass(frozen=True)
class CurvatureSettings:
    """How the trained nets' landscapes and curvature are measured (the depth study's third kind of evidence)."""

    steps: int = 7  # grid points per axis of the filter-normalised plane
    images: int = 64  # test images the loss and its Hessian are measured on
    direction_seeds: int = 2  # planes of the loss-rise rings
    hessian_steps: int = 6  # Lanczos steps per top-eigenvalue run
    probe_seeds: int = 2  # top-eigenvalue runs (their spread decides)
    map_points: int = 3  # the non-convexity map's grid points per axis (0: no map)
    map_steps: int = 4  # Lanczos steps per map point


def curvature(model: torch.nn.Module, data: ImageData, settings: CurvatureSettings, seed: int) -> dict[str, Any]:
    """A trained net's landscape numbers: loss rise over direction seeds, roughness of the grid, top Hessian
    eigenvalue over probe seeds, and Li et al.'s non-convexity map on a coarse grid of the same plane."""
    x, y = to_float(data.x_test[:settings.images]), data.y_test[:settings.images]
    land = compute_landscape(model, x, y, steps=settings.steps, seed=seed, direction_seeds=settings.direction_seeds,
                             hessian_steps=settings.hessian_steps, hessian_seeds=settings.probe_seeds,
                             progress=False)
    s = land["sharpness"]
    out = {"rise_r0.5": [r["mean_rise_r0.5"] for r in s["per_direction_seed"]],
           "top_hessian_eigenvalue": s["top_hessian_eigenvalue_spread"],
           "roughness": roughness(land["alphas"], land["betas"], land["loss"]), "loss": land["loss"].tolist()}
    if settings.map_points:
        d1, d2 = direction_pair(model, "filter", seed)
        grid = np.linspace(-1.0, 1.0, settings.map_points)
        out["nonconvexity"] = nonconvexity_map(model, x, y, d1, d2, grid, settings.map_steps, seed).tolist()
    return out


#: test images the short trainings are scored on at each of their points (a standard error of about 1.5 points)
TRAIN_TEST_IMAGES = 1000

CONDITIONS = {"with batch norm": True, "without batch norm": False}


def describe(spec: ModelSpec, num_classes: int) -> dict[str, Any]:
    """A net's depth (counted weight layers) and family (a shortcut in its traced graph, else its name)."""
    model = study_model(spec, None, None, num_classes, 1.0 if spec.kind == "registry" else None, 0, init=True)
    found = has_shortcut(model)
    how = "a shortcut found in its traced graph" if found else "no addition of activations in its traced graph"
    if found is None:
        name = spec.text.lower()
        if "plain" not in name and "res" not in name:
            raise NeuralensError(f"--models {spec.text}: cannot trace the net to find a shortcut, and its name says "
                                 "neither 'plain' nor 'res'; name the callable so (e.g. plain56 / resnet56)")
        found, how = "plain" not in name, "its name (the net could not be traced)"
    return {"depth": weight_depth(model), "family": "resnet" if found else "plain", "family_from": how,
            "depth_from": "counted weight layers (convs wider than 1x1, linear layers)", "spec": spec.text}


def trained_evidence(spec: ModelSpec, weights: str, data: ImageData) -> dict[str, Any]:
    """Accuracy (and, for shipped nets, the card's per-epoch history) of a trained net of the series."""
    if weights == SHIPPED:
        card = read_card(spec.target)
        t = card["training"]
        history = [{"test_acc": a, "train_loss": loss} for a, loss in
                   zip(t["test_accuracy_per_epoch"], t.get("train_loss_per_epoch") or [])]
        return {"accuracy": card["metrics"]["accuracy"], "n_test": card["metrics"]["n_test"], "history": history,
                "source": f"the shipped card ({t['epochs']} epochs: {t['command'].split(' && ')[-1]})"}
    model = study_model(spec, weights, None, data.num_classes, None, 0)
    res = evaluate(model.eval(), data.x_test, data.y_test, data.num_classes)
    return {"accuracy": res["accuracy"], "n_test": len(data.y_test), "history": [], "source": weights}


def trainability(names: list[str], data: ImageData, steps: int, points: int, seed: int, out: Path
                 ) -> dict[str, list[dict[str, float]]]:
    """Registry nets trained with one short recipe (the same steps, images in the same order, seed and one-cycle
    schedule; ``neuralens train``'s defaults otherwise): training loss and test accuracy on TRAIN_TEST_IMAGES
    images at ``points`` evenly spaced steps (He et al.'s Figure 6 in miniature)."""
    test = replace(data, x_test=data.x_test[:TRAIN_TEST_IMAGES], y_test=data.y_test[:TRAIN_TEST_IMAGES])
    per = max(steps // points, 1)
    curves = {}
    for name in progress(names, "short trainings", unit="net"):
        cfg = TrainConfig(model=name, width=1.0, epochs=points, steps_per_epoch=per, seed=seed, data=data.source)
        history = train(cfg, test, out / "train" / name, log=lambda m: None, progress=False)["history"]
        curves[name] = [{**h, "step": h["epoch"] * per} for h in history]
    return curves


def run_depth(specs: list[tuple[ModelSpec, str]], data: ImageData, seeds: list[int], batch_size: int,
              out: Path, train_names: list[str] | None = None, train_steps: int = 0, train_points: int = 5,
              curvature_settings: CurvatureSettings | None = None) -> dict[str, Any]:
    """Gradients at initialisation under both conditions, trained evidence where there are weights (with their
    curvature unless ``curvature_settings`` is None), and the short trainings of ``train_names``; write
    ``depth.json`` and the figures into ``out``."""
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    nets = {spec.slug: describe(spec, data.num_classes) for spec, _ in specs}
    x, y = to_float(data.x_train[:batch_size]), data.y_train[:batch_size]
    gradients: dict[str, dict[str, Any]] = {}
    for cond, bn in CONDITIONS.items():
        gradients[cond] = {}
        for spec, _ in progress(specs, f"gradients at init, {cond}", unit="net"):
            size = 1.0 if spec.kind == "registry" else None
            gradients[cond][spec.slug] = init_gradients(
                lambda seed, spec=spec, size=size: study_model(spec, None, None, data.num_classes, size, seed,
                                                               init=True),
                seeds, x, y, batch_norm=bn)
    seconds["gradients"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    trained = {spec.slug: trained_evidence(spec, w, data) for spec, w in specs if w}
    seconds["trained_accuracy"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    if curvature_settings is not None:
        for spec, w in progress([(sp, w) for sp, w in specs if w], "landscapes and curvature", unit="net"):
            model = study_model(spec, w, None, data.num_classes, None, seeds[0])
            trained[spec.slug]["curvature"] = curvature(model, data, curvature_settings, seeds[0])
    seconds["curvature"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    short = trainability(train_names or [], data, train_steps, train_points, seeds[0], out) if train_steps else {}
    seconds["short_training"] = time.perf_counter() - t0
    result = {"seconds": seconds, "nets": nets, "seeds": seeds, "images": batch_size, "gradients": gradients,
              "trained": trained,
              "short_training": {"steps": train_steps, "test_images": TRAIN_TEST_IMAGES, "curves": short},
              "curvature_settings": asdict(curvature_settings) if curvature_settings else None,
              "measure": "first / last residual-block input gradient RMS at initialisation (stem and head left "
                         "out), one batch of training images, per seed"}
    write_json(out / "depth.json", result)
    plot_ratios(gradients["with batch norm"], nets, out / "ratio_vs_depth.png", "with batch norm")
    plot_ratios(gradients["without batch norm"], nets, out / "ratio_vs_depth_no_bn.png", "without batch norm")
    plot_profiles(gradients["with batch norm"], nets, out / "profiles.png")
    if any("curvature" in t for t in trained.values()):
        plot_surfaces(trained, nets, out / "surfaces.png")
    histories = {n: t["history"] for n, t in trained.items() if t["history"]}
    if histories:
        plot_histories(histories, nets, out / "training.png", "epoch")
    if short:
        plot_histories(short, nets, out / "short_training.png", "training step")
    return result
