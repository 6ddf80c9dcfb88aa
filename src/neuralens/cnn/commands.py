"""What ``neuralens train | eval | gradflow | landscape | compare-cnn`` do once their arguments are checked.

:mod:`neuralens.cnn.cli` checks every argument without torch and then calls these; each loads the data, builds
the models and writes one run folder.
"""

from __future__ import annotations

import argparse
import contextlib
import json
from pathlib import Path
from typing import Any

from torch import nn

from neuralens.cnn.compare import compare
from neuralens.cnn.depth_run import CurvatureSettings, run_depth
from neuralens.cnn.depth_verdicts import depth_verdicts
from neuralens.cnn.runs import run_gradflow, run_hessian, run_landscape, run_trajectory
from neuralens.cnn.settings import HessianSettings, landscape_settings
from neuralens.cnn.viz import plot_confusion, plot_history, plot_predictions
from neuralens.core.checkpoint import load_checkpoint
from neuralens.core.distributed import is_rank0
from neuralens.core.errors import NeuralensError
from neuralens.core.io import log, run_folder, write_json
from neuralens.core.runtime import resolve_device
from neuralens.core.wording import verdict_text
from neuralens.data.cifar import ImageData, load_data_from_args
from neuralens.models.build import build_model, check_model_data, set_normalization
from neuralens.models.cards import check_classes
from neuralens.models.checkpoint import model_from_checkpoint
from neuralens.models.recipe import TrainConfig
from neuralens.models.spec import ModelSpec
from neuralens.models.train import check_data, check_resume, classifier_metrics, evaluate, train


def train_command(args: argparse.Namespace, cfg: TrainConfig) -> int:
    data = load_data_from_args(args)
    check_data(cfg, data)
    if args.resume:
        check_resume(cfg, data, args.out)
    with run_folder(args.out, vars(args)) if is_rank0() else contextlib.nullcontext():  # torchrun: rank 0 writes
        metrics = train(cfg, data, args.out, resume=args.resume, log=log)
        if metrics["history"] and is_rank0():
            plot_history(metrics["history"], Path(args.out) / "history.png", f"{args.model} x{args.width}")
    if is_rank0():
        print(f"test accuracy {metrics['accuracy']:.4f}  loss {metrics['loss']:.4f}  -> {Path(args.out) / 'model.pt'}")
    return 0


def _from_checkpoint(args: argparse.Namespace) -> tuple[nn.Module, str, dict[str, Any]]:
    ckpt = load_checkpoint(args.checkpoint, kind="classifier")
    model = model_from_checkpoint(ckpt, args.checkpoint)
    if args.normalize:
        set_normalization(model, args.normalize)
    studied = {"model": ckpt["arch"], "weights": str(args.checkpoint),
               "normalize": args.normalize or "as saved in the checkpoint", "classes": ckpt["config"].get("classes")}
    return model, ckpt["config"].get("data_spec", "auto"), studied


def eval_command(args: argparse.Namespace, spec: ModelSpec | None) -> int:
    """Score ``--checkpoint`` or ``--model/--weights`` on the test split: metrics, confusion, labelled images."""
    model, studied = None, {}
    default_data = "auto"
    if args.checkpoint:
        model, default_data, studied = _from_checkpoint(args)
    data = load_data_from_args(args, args.data if args.data != "from-checkpoint" else default_data)
    if model is None:
        check_model_data(spec, args.weights, data.classes, data.source, data.is_synthetic, log)
        model = build_model(spec, num_classes=data.num_classes, weights=args.weights, normalize=args.normalize)
        studied = dict(model.neuralens_spec)
    else:
        check_classes(studied.get("classes"), data.classes, str(args.checkpoint), data.source)
    classes = studied.pop("classes", None) or data.classes
    if len(classes) != data.num_classes:
        raise NeuralensError(f"the model predicts {len(classes)} classes but the data has {data.num_classes}")
    model = model.to(resolve_device(args.device))
    out = Path(args.out)
    res = evaluate(model, data.x_test, data.y_test, len(classes), flip_tta=args.flip_tta)
    metrics = classifier_metrics(res, classes)
    arch = studied["model"]
    metrics.update({"checkpoint": args.checkpoint, "arch": arch, **{k: studied[k] for k in ("model", "weights",
                    "normalize")}, "data": data.source, "n_images": len(data.y_test), "flip_tta": args.flip_tta})
    with run_folder(out, vars(args)):
        write_json(out / "metrics.json", metrics)
        plot_confusion(res["confusion"], classes, out / "confusion.png", f"{arch} on {data.source}")
        k = min(args.samples, len(data.x_test))
        plot_predictions(data.x_test[:k], data.y_test[:k], res["predictions"][:k], classes, out / "predictions.png",
                         title=f"{arch}: predicted (true)")
    print(f"accuracy {metrics['accuracy']:.4f}  loss {metrics['loss']:.4f}  on {len(data.y_test)} images -> {out}")
    return 0


def _check_all(pairs: list[tuple[ModelSpec, str]], data: ImageData) -> None:
    for spec, weights in pairs:
        check_model_data(spec, weights or None, data.classes, data.source, data.is_synthetic, log)


def gradflow_command(args: argparse.Namespace, pairs: list[tuple[ModelSpec, str]]) -> int:
    data = load_data_from_args(args)
    _check_all(pairs, data)
    out = Path(args.out)
    with run_folder(out, vars(args)):
        res = run_gradflow([s.text for s, _ in pairs], [w for _, w in pairs], data, args.width, args.batches,
                           args.batch_size, args.seed, out, args.normalize, args.init_seeds, device=args.device)
    for key, r in res.items():
        s = r["summary"]
        print(f"{key:18s} first/last mean|grad| {s['first_to_last_mean_grad']:.3g}   "
              f"layers < 1e-3 of max: {100 * s['share_below_1e-3_of_max']:.0f}%   "
              f"first/last block-input grad {s['first_to_last_block_input_grad']:.3g}")
    print(out / "gradflow.json")
    return 0


def landscape_command(args: argparse.Namespace, spec: ModelSpec) -> int:
    data = load_data_from_args(args)
    _check_all([(spec, args.weights or "")], data)
    out = Path(args.out)
    if args.weights or args.normalize:  # a wrong, unsafe or mismatched file fails before the folder is made
        build_model(spec, data.num_classes, args.width, args.weights, args.normalize, hub_pretrained=False)
    with run_folder(out, vars(args)) if is_rank0() else contextlib.nullcontext():  # torchrun: rank 0 writes
        res = run_landscape(spec.text, args.weights, data, landscape_settings(args), out, args.width, args.normalize)
    s = res["sharpness"]
    if is_rank0():  # (torchrun: every rank holds the same grid; one speaks)
        print(f"{spec.text}: centre loss {s['loss_centre']:.4f}, rise at r=0.5 {s['mean_rise_r0.5']:.4g}, "
              f"at r=1 {s['mean_rise_r1']:.4g} -> {out / 'landscape.npz'}")
    return 0


def compare_command(args: argparse.Namespace, landscapes: list[Path]) -> int:
    text, _numbers = compare(Path(args.gradflow) if args.gradflow else None, landscapes, Path(args.out))
    print(text)
    return 0


def compare_models_command(args: argparse.Namespace, pairs: list[tuple[ModelSpec, str]]) -> int:
    """``compare-cnn --models A,B [--weights W]``: gradient flow and a landscape of each model, then the
    comparison, all in one run folder (``gradflow/``, ``landscape/<model>/``, ``compare.json``)."""
    data = load_data_from_args(args)
    _check_all(pairs, data)
    out = Path(args.out)
    with run_folder(out, vars(args)):
        run_gradflow([s.text for s, _ in pairs], [w for _, w in pairs], data, args.width, args.batches,
                     args.batch_size, args.seed, out / "gradflow", args.normalize, args.init_seeds,
                     device=args.device)
        for spec, weights in pairs:
            run_landscape(spec.text, weights or None, data, landscape_settings(args), out / "landscape" / spec.slug,
                          args.width, args.normalize)
        text, _numbers = compare(out / "gradflow", [out / "landscape" / s.slug for s, _ in pairs], out)
    print(text)
    return 0


def hessian_command(args: argparse.Namespace, spec: ModelSpec, settings: HessianSettings) -> int:
    data = load_data_from_args(args)
    _check_all([(spec, args.weights or "")], data)
    out = Path(args.out)
    with run_folder(out, vars(args)) if is_rank0() else contextlib.nullcontext():  # torchrun: rank 0 writes
        res = run_hessian(spec.text, args.weights, data, settings, out, args.width, args.normalize)
    if not is_rank0():
        return 0
    tops = ", ".join(f"{t['mean']:.4g} +- {t['std']:.2g}" for t in res["top_eigenvalues"]["spread"])
    trace = res["trace"]["spread"]
    print(f"{spec.text}: top eigenvalues {tops}" + (f"; trace {trace['mean']:.4g} +- {trace['std']:.2g}" if trace
                                                     else "") + f" -> {out / 'hessian.json'}")
    return 0


def trajectory_command(args: argparse.Namespace, run_dir: Path) -> int:
    data = load_data_from_args(args)
    out = Path(args.out)
    with run_folder(out, vars(args)) if is_rank0() else contextlib.nullcontext():
        run_trajectory(run_dir, data, landscape_settings(args), out)
    if is_rank0():
        meta = json.loads((out / "landscape.json").read_text())
        ev = meta["explained_variance"]
        print(f"{meta['model']}: PCA plane of {len(meta['epochs'])} snapshots explains {100 * ev[0]:.1f}% + "
              f"{100 * ev[1]:.1f}% of the path's variance -> {out / 'trajectory.png'}")
    return 0


def depth_command(args: argparse.Namespace, pairs: list[tuple[ModelSpec, str]]) -> int:
    """``neuralens depth``: the series measured into one run folder, then one verdict line per depth."""
    data = load_data_from_args(args)
    with run_folder(args.out, vars(args)):
        result = run_depth(pairs, data, list(range(args.seed, args.seed + args.seeds)), args.batch_size,
                           Path(args.out), args.train_names, args.train_steps,
                           curvature_settings=None if args.no_curvature else CurvatureSettings())
    for question, _, decision in depth_verdicts(result):
        print(f"{question} {verdict_text('conditions', decision)}")
    return 0
