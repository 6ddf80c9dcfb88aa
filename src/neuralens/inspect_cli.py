"""``neuralens gradflow | landscape | compare-cnn``: look inside VGG16 and ResNet18."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch

from neuralens.cli import add_data_args, load_data_from_args, positive_float, positive_int
from neuralens.errors import NeuralensError
from neuralens.io import read_json, save_npz, write_config, write_json
from neuralens.models.checkpoint import load_classifier


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _split(text: str | None, keep_empty: bool = False) -> list[str]:
    if not text:
        return []
    parts = [t.strip() for t in text.split(",")]
    return parts if keep_empty else [t for t in parts if t]


def fresh_model(name: str, width: float, num_classes: int, seed: int) -> torch.nn.Module:
    """The model at initialisation, reproducibly (same seed, same weights)."""
    from neuralens.models import create_model

    torch.manual_seed(seed)
    return create_model(name, num_classes=num_classes, width=width)


def run_gradflow(models: list[str], checkpoints: list[str], data: Any, width: float, batches: int, batch_size: int,
                 seed: int, out: Path) -> dict[str, Any]:
    """Gradient statistics for each model at init (and trained, with a checkpoint); JSON, CSV and figures."""
    from neuralens.data.cifar import to_float
    from neuralens.gradflow import gradient_flow, plot_bars, plot_overlay, write_csv
    from neuralens.models.registry import check_model_name

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
        _log(f"gradflow: {key}")
        results[key] = gradient_flow(fresh_model(name, width, data.num_classes, seed), chunks)
        if checkpoints and checkpoints[k]:
            model, _ = load_classifier(checkpoints[k], name)
            _log(f"gradflow: {name} (trained, {checkpoints[k]})")
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


def _cmd_gradflow(args: argparse.Namespace) -> int:
    from neuralens.models.registry import check_model_name

    for name in _split(args.models):  # fail before anything is written
        check_model_name(name)
    data = load_data_from_args(args)
    out = Path(args.out)
    write_config(out, vars(args))
    res = run_gradflow(_split(args.models), _split(args.checkpoint, keep_empty=True), data, args.width, args.batches,
                       args.batch_size, args.seed, out)
    for key, r in res.items():
        s = r["summary"]
        print(f"{key:18s} first/last mean|grad| {s['first_to_last_mean_grad']:.3g}   "
              f"layers < 1e-3 of max: {100 * s['share_below_1e-3_of_max']:.0f}%   "
              f"first/last block-input grad {s['first_to_last_block_input_grad']:.3g}")
    print(out / "gradflow.json")
    return 0


def run_landscape(name: str, checkpoint: str | None, data: Any, width: float, steps: int, distance: float,
                  eval_size: int, seed: int, hessian_iters: int, out: Path, interp_steps: int = 21) -> dict[str, Any]:
    """One model's 2-D plane, axis lines, init->trained interpolation; writes landscape.npz/json + figures."""
    from neuralens.data.cifar import to_float
    from neuralens.landscape import (
        LossAccuracy,
        compute_landscape,
        in_distributed_run,
        interpolate,
        plot_interpolation,
        plot_landscapes,
    )
    from neuralens.models.registry import check_model_name

    check_model_name(name)
    if steps % 2 == 0 or steps < 3:
        raise NeuralensError(f"--steps must be odd and >= 3 so the model itself is a grid point, got {steps}")
    if checkpoint:
        model, _ = load_classifier(checkpoint, name)
    else:
        model = fresh_model(name, width, data.num_classes, seed)
    n = min(eval_size, len(data.x_test))
    x, y = to_float(data.x_test[:n]), data.y_test[:n]
    res = compute_landscape(model, x, y, steps, distance, seed, hessian_iters=hessian_iters)
    rank0 = not in_distributed_run() or int(__import__("os").environ.get("RANK", "0")) == 0
    if not rank0:
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


def _cmd_landscape(args: argparse.Namespace) -> int:
    from neuralens.models.registry import check_model_name

    check_model_name(args.model)  # fail before anything is written
    if args.steps % 2 == 0 or args.steps < 3:
        raise NeuralensError(f"--steps must be odd and >= 3 so the model itself is a grid point, got {args.steps}")
    data = load_data_from_args(args)
    out = Path(args.out)
    write_config(out, vars(args))
    res = run_landscape(args.model, args.checkpoint, data, args.width, args.steps, args.distance, args.eval_size,
                        args.seed, args.hessian_iters, out)
    s = res["sharpness"]
    print(f"{args.model}: centre loss {s['loss_centre']:.4f}, rise at r=0.5 {s['mean_rise_r0.5']:.4g}, "
          f"at r=1 {s['mean_rise_r1']:.4g} -> {out / 'landscape.npz'}")
    return 0


def load_landscape(folder: Path) -> dict[str, Any]:
    path = folder / "landscape.npz"
    if not path.is_file():
        raise NeuralensError(f"{folder}: no landscape.npz (run neuralens landscape --out {folder})")
    with np.load(path) as f:
        res = {k: f[k] for k in f.files}
    res["meta"] = read_json(folder / "landscape.json") if (folder / "landscape.json").is_file() else {}
    return res


def _cmd_compare(args: argparse.Namespace) -> int:
    from neuralens.compare_cnn import compare

    text, _numbers = compare(Path(args.gradflow) if args.gradflow else None,
                            [Path(p) for p in _split(args.landscapes)], Path(args.out))
    print(text)
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    fmt = argparse.RawDescriptionHelpFormatter
    p = sub.add_parser("gradflow", help="per-layer gradient statistics of VGG16 vs ResNet18", formatter_class=fmt,
                       epilog="examples:\n  neuralens gradflow --out runs/gradflow\n"
                              "  neuralens gradflow --models vgg16_bn,resnet18 --checkpoint runs/v/model.pt,"
                              "runs/r/model.pt --data-root ../shared/data/cifar10 --out runs/gradflow")
    p.add_argument("--models", default="vgg16,vgg16_bn,resnet18", help="comma-separated registry names")
    p.add_argument("--checkpoint", default=None,
                   help="comma-separated checkpoints, one per model, empty for none (adds trained)")
    p.add_argument("--width", type=positive_float, default=0.25)
    p.add_argument("--batches", type=positive_int, default=8)
    p.add_argument("--batch-size", type=positive_int, default=128)
    p.add_argument("--out", default="runs/gradflow")
    p.add_argument("--seed", type=int, default=0)
    add_data_args(p)
    p.set_defaults(func=_cmd_gradflow)

    p = sub.add_parser("landscape", help="2-D loss landscape (filter-normalised plane) of one model",
                       formatter_class=fmt,
                       epilog="examples:\n  neuralens landscape --model resnet18 --out runs/land_r18\n"
                              "  neuralens landscape --model resnet18 --checkpoint runs/r18/model.pt --steps 51\n"
                              "  torchrun --nproc-per-node 2 -m neuralens.cli landscape --model vgg16 --out runs/lv")
    p.add_argument("--model", default="resnet18")
    p.add_argument("--checkpoint", default=None)
    p.add_argument("--width", type=positive_float, default=0.25)
    p.add_argument("--steps", type=positive_int, default=21, help="grid points per axis (odd)")
    p.add_argument("--distance", type=positive_float, default=1.0, help="grid covers [-D, D]^2")
    p.add_argument("--eval-size", type=positive_int, default=512, help="test images held in memory")
    p.add_argument("--hessian-iters", type=int, default=10, help="power iterations for the top eigenvalue (0: skip)")
    p.add_argument("--out", default="runs/landscape")
    p.add_argument("--seed", type=int, default=0)
    add_data_args(p)
    p.set_defaults(func=_cmd_landscape)

    p = sub.add_parser("compare-cnn", help="VGG16 vs ResNet18 in numbers, from gradflow and landscape runs",
                       formatter_class=fmt,
                       epilog="example:\n  neuralens compare-cnn --gradflow runs/gradflow "
                              "--landscapes runs/land_vgg,runs/land_r18 --out runs/compare")
    p.add_argument("--gradflow", default=None, help="folder with gradflow.json")
    p.add_argument("--landscapes", default="", help="comma-separated landscape folders")
    p.add_argument("--out", default="runs/compare")
    p.set_defaults(func=_cmd_compare)
