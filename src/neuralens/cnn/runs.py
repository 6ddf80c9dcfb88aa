"""The CNN study's run-folder producers: gradient flow and landscape runs, used by the CLI and the demo."""

from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch

from neuralens.cnn.gradflow import gradient_flow, write_csv
from neuralens.cnn.hessian import (
    HessianOperator,
    hutchinson_trace,
    layer_top_eigenvalues,
    spectral_density,
    top_eigenvalues,
)
from neuralens.cnn.landscape import (
    LossAccuracy,
    any_plane,
    compute_landscape,
    grid_points,
    interpolate,
    spread,
)
from neuralens.cnn.settings import HessianSettings, LandscapeSettings
from neuralens.cnn.trajectory import grid_extent, load_trajectory, pca_plane, plane_directions
from neuralens.cnn.viz import (
    plot_bars,
    plot_hessian,
    plot_interpolation,
    plot_landscapes,
    plot_overlay,
    plot_trajectory,
)
from neuralens.core.distributed import is_rank0
from neuralens.core.errors import NeuralensError
from neuralens.core.io import save_npz, write_json
from neuralens.core.progress import progress
from neuralens.core.runtime import resolve_device
from neuralens.data.cifar import ImageData, to_float
from neuralens.models.build import build_model, checkpoint_config
from neuralens.models.cards import SHIPPED
from neuralens.models.spec import NAMED_WEIGHTS, ModelSpec, pair_weights, parse_model_spec, resolve_width


def study_model(spec: ModelSpec, weights: str | None, normalize: str | None, num_classes: int, width: float | None,
                seed: int, init: bool = False) -> torch.nn.Module:
    """``spec`` with its weights, or (``init``, or no weights and no hub) at initialisation, reproducibly: the same
    seed gives the same initial weights. An initial model takes the width of its weights (the shipped card's, a
    neuralens checkpoint's), so it is the same architecture as the trained one."""
    torch.manual_seed(seed)
    if init:
        saved = checkpoint_config(weights) if weights and weights not in NAMED_WEIGHTS else None
        size = float(saved["width"]) if saved and "width" in saved else resolve_width(spec, weights, width)
        norm = normalize if weights != SHIPPED else None
        return build_model(spec, num_classes, size, None, norm, hub_pretrained=False)
    return build_model(spec, num_classes, width, weights, normalize)


def has_weights(spec: ModelSpec, weights: str | None) -> bool:
    """Whether the study sees a trained model besides the initial one (hub entries come pretrained)."""
    return bool(weights) or spec.kind == "hub"


def run_gradflow(models: list[str], weights: list[str], data: ImageData, width: float | None, batches: int,
                 batch_size: int, seed: int, out: Path, normalize: str | None = None, init_seeds: int = 1,
                 bar_figures: str = "all", device: str = "auto") -> dict[str, Any]:
    """Gradient statistics of each model at init (over ``init_seeds`` seeds), and trained where it has weights;
    JSON, CSV and figures.

    ``weights`` gives one entry per model ("" for none), or is empty. Result keys are the models' flat names
    (``name@init`` for the initial model when any model has weights); the full specs are in ``specs``. An initial
    model measured over several seeds keeps the first seed's layers and adds ``seeds`` (each seed's summary) and
    ``spread`` (mean, std, min, max of every summary number over the seeds). ``bar_figures``: ``all`` draws the
    per-layer bar chart of every result, ``trained`` only of the trained models (the overlays show them all).
    """
    specs = [parse_model_spec(m) for m in models]
    weights = pair_weights(models, weights)
    n = min(batches * batch_size, len(data.x_train))
    if n < batch_size:
        raise NeuralensError(f"need at least --batch-size {batch_size} training images, have {len(data.x_train)}")
    dev = resolve_device(device)
    x, y = to_float(data.x_train[:n]).to(dev), data.y_train[:n].to(dev)
    chunks = [(x[i:i + batch_size], y[i:i + batch_size]) for i in range(0, n - batch_size + 1, batch_size)]
    results: dict[str, Any] = {}
    described: dict[str, Any] = {}
    any_trained = any(has_weights(sp, w or None) for sp, w in zip(specs, weights))
    jobs = [(spec, w, s, True) for spec, w in zip(specs, weights) for s in range(seed, seed + init_seeds)]
    jobs += [(spec, w, seed, False) for spec, w in zip(specs, weights) if has_weights(spec, w or None)]
    for spec, w, s, init in progress(jobs, "gradflow models", unit="model"):
        key = f"{spec.slug}@init" if init and any_trained else spec.slug
        model = study_model(spec, w or None, normalize, data.num_classes, width, s, init).to(dev)
        res = gradient_flow(model, chunks)
        if init:
            entry = results.setdefault(key, {**res, "seeds": []})
            entry["seeds"].append({"seed": s, "summary": res["summary"], "loss": res["loss"]})
            described[key] = {"model": spec.text, "weights": None, "normalize": normalize or spec.default_normalize,
                              "width": _width_of(model)}
        else:
            results[key] = res
            described[key] = {"model": spec.text, "weights": w or "hub", "width": _width_of(model),
                              "normalize": model.neuralens_spec.get("normalize")}
    for entry in results.values():
        if len(entry.get("seeds", [])) > 1:
            entry["spread"] = {k: spread([row["summary"][k] for row in entry["seeds"]])
                               for k in entry["summary"] if isinstance(entry["summary"][k], float)}
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "gradflow.json", {"models": results, "specs": described, "data": data.source,
                                       "batches": len(chunks), "batch_size": batch_size, "init_seeds": init_seeds,
                                       "width": width})
    write_csv(results, out / "gradflow.csv")
    for key, res in results.items():
        if bar_figures == "all" or "@init" not in key:
            plot_bars(key, res, out / f"gradflow_{key.replace('@', '_')}.png")
    main = {k: v for k, v in results.items() if not k.startswith("vgg16_bn")}
    plot_overlay(main, out / "gradflow_overlay.png", "mean |grad| against depth: VGG16 vs ResNet18")
    bn = {k: v for k, v in results.items() if k.startswith("vgg16")}
    if any(k.startswith("vgg16_bn") for k in bn) and len(bn) > 1:
        plot_overlay(bn, out / "gradflow_vgg_bn.png", "VGG16 without vs with batch norm")
    return results


def _width_of(model: torch.nn.Module) -> float | None:
    card = getattr(model, "neuralens_card", None)
    return float(card["width"]) if card else None


def run_landscape(model_spec: str, weights: str | None, data: ImageData, settings: LandscapeSettings, out: Path,
                  width: float | None = None, normalize: str | None = None) -> dict[str, Any]:
    """One model's 2-D plane, sharpness over direction seeds, init->trained interpolation; writes
    landscape.npz/json + figures (``landscape.json`` records the method, its seeds and a time breakdown)."""
    settings.check()
    t_start = time.perf_counter()
    spec = parse_model_spec(model_spec)
    trained = has_weights(spec, weights)
    dev = resolve_device(settings.device)
    model = study_model(spec, weights, normalize, data.num_classes, width, settings.seed, init=not trained).to(dev)
    name = spec.slug
    n = min(settings.eval_size, len(data.x_test))
    x, y = to_float(data.x_test[:n]).to(dev), data.y_test[:n].to(dev)
    times = {"data_and_model": time.perf_counter() - t_start}
    res = compute_landscape(model, x, y, settings.steps, settings.distance, settings.seed, settings.batch_size,
                            settings.hessian_steps, directions=settings.directions,
                            direction_seeds=settings.direction_seeds, ring_points=settings.ring_points,
                            hessian_seeds=settings.hessian_seeds, trace_probes=settings.trace_probes)
    times.update(res["seconds"])
    if not is_rank0():
        return res
    save_npz(out / "landscape.npz", alphas=res["alphas"], betas=res["betas"], loss=res["loss"],
             accuracy=res["accuracy"])
    meta: dict[str, Any] = {"model": name, "spec": spec.text, "weights": weights,
                            "normalize": getattr(model, "neuralens_spec", {}).get("normalize", normalize),
                            "checkpoint": weights, "steps": settings.steps, "distance": settings.distance,
                            "eval_size": n, "seed": settings.seed, "directions": settings.directions,
                            "direction_seeds": settings.direction_seeds, "data": data.source,
                            "sharpness": res["sharpness"], "settings": asdict(settings)}
    t0 = time.perf_counter()
    if trained:
        init = study_model(spec, weights, normalize, data.num_classes, width, settings.seed, init=True).to(dev)
        curve = interpolate(init, model, LossAccuracy(x, y), settings.interp_steps)
        save_npz(out / "interpolation.npz", t=np.linspace(0, 1, settings.interp_steps), loss=curve[:, 0],
                 accuracy=curve[:, 1])
        plot_interpolation({name: curve}, out / "interpolation.png", "t: init (0) -> trained (1)")
        meta["interpolation"] = {"loss_init": float(curve[0, 0]), "loss_trained": float(curve[-1, 0]),
                                 "max_loss_on_path": float(curve[:, 0].max())}
        times["interpolation"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    if settings.figures:
        plot_landscapes({name: res}, out)
    times["figures"] = time.perf_counter() - t0
    meta["seconds"] = times
    write_json(out / "landscape.json", meta)
    return res


def run_hessian(model_spec: str, weights: str | None, data: ImageData, settings: HessianSettings, out: Path,
                width: float | None = None, normalize: str | None = None) -> dict[str, Any]:
    """Top-k eigenvalues and trace over probe seeds, the spectral density and per-layer tops of one model's loss
    Hessian; writes ``hessian.json``, ``hessian_density.png`` and ``hessian_layers.png``."""
    settings.check()
    spec = parse_model_spec(model_spec)
    dev = resolve_device(settings.device)
    model = study_model(spec, weights, normalize, data.num_classes, width, settings.seed,
                        init=not has_weights(spec, weights)).to(dev)
    n = min(settings.eval_size, len(data.x_test))
    op = HessianOperator(model, to_float(data.x_test[:n]).to(dev), data.y_test[:n].to(dev), settings.batch_size)
    times: dict[str, float] = {}
    seeds = list(range(settings.seed, settings.seed + settings.probe_seeds))
    t0 = time.perf_counter()
    tops = [top_eigenvalues(op, settings.top_k, settings.lanczos_steps, s) for s in seeds]
    times["top_eigenvalues"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    traces = [hutchinson_trace(op, settings.trace_probes, s) for s in seeds] if settings.trace_probes else []
    times["trace"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    density = spectral_density(op, settings.lanczos_steps, settings.density_runs, settings.seed)
    times["density"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    layers = layer_top_eigenvalues(op, settings.layer_iters, settings.seed) if settings.layer_iters else {}
    times["layers"] = time.perf_counter() - t0
    result: dict[str, Any] = {
        "model": spec.slug, "spec": spec.text, "weights": weights, "eval_size": n, "data": data.source,
        "parameters": op.dim, "hessian_vector_products": op.calls, "settings": asdict(settings),
        "top_eigenvalues": {"per_seed": tops, "spread": [spread([t[i] for t in tops]) for i in range(len(tops[0]))]},
        "trace": {"per_seed": [t["trace"] for t in traces], "std_error_per_seed": [t["std_error"] for t in traces],
                  "spread": spread([t["trace"] for t in traces]) if traces else None},
        "density": density, "layers": layers, "seconds": times}
    if not is_rank0():  # (under torchrun every rank holds the same numbers: the products were summed over ranks)
        return result
    t0 = time.perf_counter()
    plot_hessian(result, out)
    times["figures"] = time.perf_counter() - t0
    write_json(out / "hessian.json", result)
    return result


def run_trajectory(run_dir: str | Path, data: ImageData, settings: LandscapeSettings, out: Path) -> dict[str, Any]:
    """The loss on the plane of a training run's two PCA directions, around its final weights, with the projected
    path (Li et al. 2018, section 7); landscape.npz/json (``directions: pca``), trajectory.npz and the figure."""
    settings.check()
    t_start = time.perf_counter()
    traj = load_trajectory(run_dir)
    plane = pca_plane(traj)
    dev = resolve_device(settings.device)
    traj.model.to(dev)
    d1, d2 = plane_directions(traj, plane)
    n = min(settings.eval_size, len(data.x_test))
    x, y = to_float(data.x_test[:n]).to(dev), data.y_test[:n].to(dev)
    extent = grid_extent(plane["coords"])
    times = {"data_and_pca": time.perf_counter() - t_start}
    t0 = time.perf_counter()
    loss, acc = any_plane(traj.model, LossAccuracy(x, y, settings.batch_size), d1, d2, settings.steps, extent,
                          buffer_dirs=plane["buffer_dirs"])
    times["grid"] = time.perf_counter() - t0
    res = {"alphas": grid_points(settings.steps, extent[0]), "betas": grid_points(settings.steps, extent[1]),
           "loss": loss, "accuracy": acc}
    if not is_rank0():
        return res
    save_npz(out / "landscape.npz", **res)
    save_npz(out / "trajectory.npz", coords=plane["coords"], epochs=np.array(traj.epochs))
    ev = plane["explained_variance"]
    name = traj.model.neuralens_arch
    t0 = time.perf_counter()
    plot_trajectory(res, plane["coords"], traj.epochs, ev, out / "trajectory.png", f"{name} ({traj.run_dir.name})")
    times["figures"] = time.perf_counter() - t0
    meta = {"model": name, "directions": "pca", "trajectory": str(run_dir), "epochs": traj.epochs,
            "explained_variance": ev, "path": plane["coords"].tolist(), "steps": settings.steps,
            "distance": list(extent),
            "eval_size": n, "data": data.source, "seed": settings.seed,
            "sharpness": {"loss_centre": float(loss[settings.steps // 2, settings.steps // 2]), "directions": "pca"},
            "bn_statistics": "regressed on the path's coordinates (they follow the weights)",
            "settings": asdict(settings), "seconds": times}
    write_json(out / "landscape.json", meta)
    return res
