"""``neuralens train | eval | gradflow | landscape | compare-cnn``: parsers, and calls into library functions."""

from __future__ import annotations

import argparse
import contextlib
from pathlib import Path
from typing import Any

from torch import nn

from neuralens.cnn.compare import compare
from neuralens.cnn.runs import check_landscape_steps, is_rank0, run_gradflow, run_landscape
from neuralens.cnn.viz import plot_confusion, plot_history, plot_predictions
from neuralens.core.checkpoint import load_checkpoint
from neuralens.core.cliargs import (
    Formatter,
    add_common,
    add_options,
    nonneg_int,
    options_from,
    positive_float,
    positive_int,
    split_list,
    width_multiplier,
)
from neuralens.core.errors import NeuralensError
from neuralens.core.io import check_out, log, run_folder, write_json
from neuralens.core.runtime import resolve_device
from neuralens.data.args import add_data_args, load_data_from_args
from neuralens.models import model_from_checkpoint
from neuralens.models.registry import check_model_name
from neuralens.models.spec import build_model, parse_model_spec, parse_normalize, set_normalization
from neuralens.models.train import TrainConfig, check_data, check_resume, classifier_metrics, evaluate, train


# ----------------------------------------------------------------------------------------------- train / eval
def _cmd_train(args: argparse.Namespace) -> int:
    if args.pretrained is None or not args.pretrained.startswith("hub:"):
        check_model_name(args.model)
    cfg = TrainConfig(**options_from(TrainConfig, args), data=args.data)
    check_out(args.out)
    data = load_data_from_args(args)
    check_data(cfg, data)
    if args.resume:
        check_resume(cfg, data, args.out)
    log(f"data: {data.source}: {len(data.x_train)} train / {len(data.x_test)} test images")
    with run_folder(args.out, vars(args)):
        metrics = train(cfg, data, args.out, resume=args.resume, log=log)
        if metrics["history"]:
            plot_history(metrics["history"], Path(args.out) / "history.png", f"{args.model} x{args.width}")
    print(f"test accuracy {metrics['accuracy']:.4f}  loss {metrics['loss']:.4f}  -> {Path(args.out) / 'model.pt'}")
    return 0


def _eval_model(args: argparse.Namespace) -> tuple[nn.Module, str, dict[str, Any]]:
    """(model, default data spec, what was studied) from ``--checkpoint`` or ``--model/--weights/--normalize``."""
    if args.checkpoint and args.model:
        raise NeuralensError("give either --checkpoint (a neuralens checkpoint) or --model [--weights], not both")
    if args.checkpoint:
        ckpt = load_checkpoint(args.checkpoint, kind="classifier")
        model = model_from_checkpoint(ckpt, args.checkpoint)
        if args.normalize:
            set_normalization(model, args.normalize)
        studied = {"model": ckpt["arch"], "weights": str(args.checkpoint),
                   "normalize": args.normalize or "as saved in the checkpoint",
                   "classes": ckpt["config"].get("classes")}
        return model, ckpt["config"].get("data_spec", "auto"), studied
    if not args.model:
        raise NeuralensError("give --checkpoint CKPT, or --model SPEC [--weights W] (see neuralens eval --help)")
    return None, "auto", {"model": args.model, "weights": args.weights, "normalize": args.normalize}


def _cmd_eval(args: argparse.Namespace) -> int:
    model, default_data, studied = _eval_model(args)
    spec = parse_model_spec(args.model) if args.model else None
    data = load_data_from_args(args, args.data if args.data != "from-checkpoint" else default_data)
    if model is None:
        model = build_model(spec, num_classes=data.num_classes, weights=args.weights, normalize=args.normalize)
        studied = dict(model.neuralens_spec)
    classes = studied.pop("classes", None) or data.classes
    if len(classes) != data.num_classes:
        raise NeuralensError(f"the model predicts {len(classes)} classes but the data has {data.num_classes}")
    model = model.to(resolve_device(args.device))
    default_out = Path(args.checkpoint).parent / "eval" if args.checkpoint else Path("runs") / f"eval_{spec.slug}"
    out = check_out(args.out or default_out)
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


# ----------------------------------------------------------------------------------------------- inspection
def _cmd_gradflow(args: argparse.Namespace) -> int:
    models = split_list(args.models)
    for spec in models:  # fail before anything is written
        parse_model_spec(spec)
    weights = split_list(args.weights, keep_empty=True)
    if weights and len(weights) != len(models):
        raise NeuralensError(f"--weights: give one per model ({len(models)}), got {len(weights)}")
    if args.normalize:
        parse_normalize(args.normalize)
    out = check_out(args.out)
    data = load_data_from_args(args)
    with run_folder(out, vars(args)):
        res = run_gradflow(models, weights, data, args.width, args.batches, args.batch_size, args.seed, out,
                           args.normalize)
    for key, r in res.items():
        s = r["summary"]
        print(f"{key:18s} first/last mean|grad| {s['first_to_last_mean_grad']:.3g}   "
              f"layers < 1e-3 of max: {100 * s['share_below_1e-3_of_max']:.0f}%   "
              f"first/last block-input grad {s['first_to_last_block_input_grad']:.3g}")
    print(out / "gradflow.json")
    return 0


def _cmd_landscape(args: argparse.Namespace) -> int:
    spec = parse_model_spec(args.model)  # fail before anything is written
    check_landscape_steps(args.steps)
    out = check_out(args.out)
    data = load_data_from_args(args)
    if args.weights or args.normalize:  # a wrong, unsafe or mismatched file fails before the folder is made
        build_model(spec, data.num_classes, args.width, args.weights, args.normalize, hub_pretrained=False)
    with run_folder(out, vars(args)) if is_rank0() else contextlib.nullcontext():  # torchrun: rank 0 writes
        res = run_landscape(args.model, args.weights, data, args.width, args.steps, args.distance,
                            args.eval_size, args.seed, args.hessian_iters, out, normalize=args.normalize)
    s = res["sharpness"]
    print(f"{args.model}: centre loss {s['loss_centre']:.4f}, rise at r=0.5 {s['mean_rise_r0.5']:.4g}, "
          f"at r=1 {s['mean_rise_r1']:.4g} -> {out / 'landscape.npz'}")
    return 0


def _cmd_compare(args: argparse.Namespace) -> int:
    check_out(args.out)
    text, _numbers = compare(Path(args.gradflow) if args.gradflow else None,
                             [Path(p) for p in split_list(args.landscapes)], Path(args.out))
    print(text)
    return 0


def _add_train(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train a CIFAR classifier", formatter_class=Formatter,
                       epilog="example:\n  neuralens train --model resnet18 --width 0.25 --epochs 5 --data cifar10 "
                              "--data-root ../shared/data/cifar10 --out runs/r18")
    add_options(p, TrainConfig)
    p.add_argument("--resume", action="store_true", help="continue from OUT/model.pt")
    p.add_argument("--out", default="runs/train")
    add_data_args(p)
    p.set_defaults(func=_cmd_train)


def _add_eval(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="evaluate a checkpoint: accuracy, confusion matrix, labelled predictions",
                       formatter_class=Formatter,
                       epilog="example:\n  neuralens eval --checkpoint runs/r18/model.pt --out runs/r18/eval")
    p.add_argument("--checkpoint", default=None, help="a neuralens classifier checkpoint (or --model/--weights)")
    _add_model_args(p, many=False, default=None, checkpoint_alias=False)
    p.add_argument("--samples", type=positive_int, default=32, help="images in predictions.png")
    p.add_argument("--flip-tta", action="store_true", help="average the logits of each image and its mirror")
    p.add_argument("--out", default=None, help="default: CHECKPOINT_DIR/eval")
    add_common(p)
    add_data_args(p, default="from-checkpoint")
    p.set_defaults(func=_cmd_eval)


MODEL_HELP = ("registry name (resnet18, vgg16_bn, tv_resnet18, ...), hub:OWNER/REPO:ENTRY, hub:DIR:ENTRY, or "
              "FILE.py:CALLABLE from your own code")
WEIGHTS_HELP = ("imagenet | a neuralens checkpoint | a bare or wrapped state_dict ({'state_dict': ...}, {'net': ...}; "
                "module. prefixes removed); read with weights_only=True")
NORMALIZE_HELP = "the mean/std the model was trained with: cifar | imagenet | none | R,G,B/R,G,B (default: cifar; " \
                 "imagenet for tv_*)"


def _add_model_args(p: argparse.ArgumentParser, many: bool, default: str | None, checkpoint_alias: bool = True
                    ) -> None:
    """--model/--weights/--normalize; with ``many`` the first two are comma-separated lists, one entry per model
    (an empty weights entry: that model at initialisation only). ``--models`` and (``checkpoint_alias``)
    ``--checkpoint`` are the older spellings."""
    g = p.add_argument_group("model")
    g.add_argument("--model", "--models", dest="models" if many else "model", default=default,
                   help=("comma-separated: " if many else "") + MODEL_HELP)
    g.add_argument("--weights", *(["--checkpoint"] if checkpoint_alias else []), dest="weights", default=None,
                   help=("comma-separated, one per model, empty for none: " if many else "") + WEIGHTS_HELP)
    g.add_argument("--normalize", default=None, help=NORMALIZE_HELP)


def _add_study_args(p: argparse.ArgumentParser, out: str) -> None:
    """Options every inspection of models built from the registry takes: width, output, seed and data."""
    p.add_argument("--width", type=width_multiplier, default=0.25, help="channel width multiplier of the models")
    p.add_argument("--out", default=out)
    p.add_argument("--seed", type=nonneg_int, default=0, help="seed of the initial weights and directions")
    add_data_args(p)


def _add_gradflow(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("gradflow", help="per-layer gradient statistics of VGG16 vs ResNet18", formatter_class=Formatter,
                       epilog="examples:\n  neuralens gradflow --out runs/gradflow\n"
                              "  neuralens gradflow --models vgg16_bn,resnet18 --checkpoint runs/v/model.pt,"
                              "runs/r/model.pt --data-root ../shared/data/cifar10 --out runs/gradflow")
    _add_model_args(p, many=True, default="vgg16,vgg16_bn,resnet18")
    p.add_argument("--batches", type=positive_int, default=8)
    p.add_argument("--batch-size", type=positive_int, default=128)
    _add_study_args(p, "runs/gradflow")
    p.set_defaults(func=_cmd_gradflow)


def _add_landscape(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("landscape", help="2-D loss landscape (filter-normalised plane) of one model",
                       formatter_class=Formatter,
                       epilog="examples:\n  neuralens landscape --model resnet18 --out runs/land_r18\n"
                              "  neuralens landscape --model resnet18 --checkpoint runs/r18/model.pt --steps 51\n"
                              "  torchrun --nproc-per-node 2 -m neuralens.cli landscape --model vgg16 --out runs/lv")
    _add_model_args(p, many=False, default="resnet18")
    p.add_argument("--steps", type=positive_int, default=21, help="grid points per axis (odd)")
    p.add_argument("--distance", type=positive_float, default=1.0, help="grid covers [-D, D]^2")
    p.add_argument("--eval-size", type=positive_int, default=512, help="test images held in memory")
    p.add_argument("--hessian-iters", type=nonneg_int, default=10,
                   help="power iterations for the top eigenvalue (0: skip)")
    _add_study_args(p, "runs/landscape")
    p.set_defaults(func=_cmd_landscape)


def _add_compare(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("compare-cnn", help="VGG16 vs ResNet18 in numbers, from gradflow and landscape runs",
                       formatter_class=Formatter,
                       epilog="example:\n  neuralens compare-cnn --gradflow runs/gradflow "
                              "--landscapes runs/land_vgg,runs/land_r18 --out runs/compare")
    p.add_argument("--gradflow", default=None, help="folder with gradflow.json")
    p.add_argument("--landscapes", default="", help="comma-separated landscape folders")
    p.add_argument("--out", default="runs/compare")
    p.set_defaults(func=_cmd_compare)


def add_commands(sub: argparse._SubParsersAction) -> None:
    for add in (_add_train, _add_eval, _add_gradflow, _add_landscape, _add_compare):
        add(sub)
