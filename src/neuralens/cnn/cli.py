"""``neuralens train | eval | gradflow | landscape | hessian | compare-cnn``: parsers, the checks that need no
data, and a call into :mod:`neuralens.cnn.commands`.

This module imports no torch: ``--help`` and every argument error are answered before torch loads (seconds).
Each handler checks what it can without data (names, files, ranges, output folder), then imports its runner:
the one function-level import a command module makes.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from neuralens.cnn.settings import DIRECTIONS, HessianSettings, landscape_settings
from neuralens.core.cliargs import (
    Formatter,
    add_common,
    add_options,
    device_name,
    nonneg_int,
    options_from,
    positive_float,
    positive_int,
    split_list,
    width_multiplier,
)
from neuralens.core.errors import NeuralensError
from neuralens.core.files import check_weights_file
from neuralens.core.io import check_out
from neuralens.data.args import add_data_args, check_data_args
from neuralens.models.cards import SHIPPED, available, card_width, read_card
from neuralens.models.recipe import TrainConfig
from neuralens.models.spec import ModelSpec, check_models, parse_normalize
from neuralens.models.zoo import check_model_name


# ----------------------------------------------------------------------------------------------- train / eval
def _check_pretrained(cfg: TrainConfig) -> None:
    """``--pretrained`` names shipped weights that fit (architecture, width), ImageNet, a hub entry or a file."""
    if cfg.pretrained is None or cfg.pretrained.startswith("hub:") or cfg.pretrained == "imagenet":
        return
    if cfg.pretrained == SHIPPED:
        card_width(read_card(cfg.model), cfg.width)
    else:
        check_weights_file(cfg.pretrained, "--pretrained")


def _cmd_train(args: argparse.Namespace) -> int:
    if args.pretrained is None or not args.pretrained.startswith("hub:"):
        check_model_name(args.model)
    cfg = TrainConfig(**options_from(TrainConfig, args), data=args.data)
    _check_pretrained(cfg)
    check_out(args.out)
    check_data_args(args)
    if args.resume and not (Path(args.out) / "model.pt").is_file():
        raise NeuralensError(f"--resume: no checkpoint at {Path(args.out) / 'model.pt'}")
    from neuralens.cnn.commands import train_command

    return train_command(args, cfg)


def _cmd_eval(args: argparse.Namespace) -> int:
    if args.checkpoint and args.model:
        raise NeuralensError("give either --checkpoint (a neuralens checkpoint) or --model [--weights], not both")
    if not args.checkpoint and not args.model:
        raise NeuralensError("give --checkpoint CKPT, or --model SPEC [--weights W] (see neuralens eval --help)")
    spec = None
    if args.checkpoint:
        check_weights_file(args.checkpoint, "--checkpoint")
        if args.normalize:
            parse_normalize(args.normalize)
    else:
        spec = check_models([args.model], split_list(args.weights), None, args.normalize)[0][0]
    if args.out is None:
        args.out = str(Path(args.checkpoint).parent / "eval" if args.checkpoint else Path("runs") / f"eval_{spec.slug}")
    check_out(args.out)
    check_data_args(args)
    from neuralens.cnn.commands import eval_command

    return eval_command(args, spec)


# ----------------------------------------------------------------------------------------------- inspection
def _cmd_gradflow(args: argparse.Namespace) -> int:
    pairs = check_models(split_list(args.models), split_list(args.weights, keep_empty=True), args.width,
                         args.normalize)
    check_out(args.out)
    check_data_args(args)
    from neuralens.cnn.commands import gradflow_command

    return gradflow_command(args, pairs)


def _cmd_landscape(args: argparse.Namespace) -> int:
    if args.trajectory:
        return _cmd_trajectory(args)
    spec = _check_one_model(args)
    landscape_settings(args)
    check_out(args.out)
    check_data_args(args)
    from neuralens.cnn.commands import landscape_command

    return landscape_command(args, spec)


def _cmd_trajectory(args: argparse.Namespace) -> int:
    run = Path(args.trajectory)
    if args.weights or args.model != "resnet18":
        raise NeuralensError("--trajectory takes the model and its weights from the run folder; drop --model/--weights")
    if not (run / "model.pt").is_file():
        raise NeuralensError(f"--trajectory {run}: no model.pt (a `neuralens train --snapshots` run folder)")
    found = len(list((run / "snapshots").glob("epoch_*.safetensors")))
    if found < 3:
        raise NeuralensError(f"--trajectory {run}: {found} snapshot(s); train with --snapshots for at least 2 epochs")
    landscape_settings(args)
    check_out(args.out)
    check_data_args(args)
    from neuralens.cnn.commands import trajectory_command

    return trajectory_command(args, run)


def _check_one_model(args: argparse.Namespace) -> ModelSpec:
    """``--model`` with its ``--weights``, ``--width`` and ``--normalize``, checked without torch."""
    return check_models([args.model], [args.weights] if args.weights else [], args.width, args.normalize)[0][0]


def _cmd_hessian(args: argparse.Namespace) -> int:
    spec = _check_one_model(args)
    settings = HessianSettings(**options_from(HessianSettings, args), seed=args.seed, device=args.device)
    settings.check()
    check_out(args.out)
    check_data_args(args)
    from neuralens.cnn.commands import hessian_command

    return hessian_command(args, spec, settings)


def _cmd_compare(args: argparse.Namespace) -> int:
    check_out(args.out)
    landscapes = [Path(p) for p in split_list(args.landscapes)]
    if args.models:
        if args.gradflow or landscapes:
            raise NeuralensError("give either --models (compute everything here) or --gradflow/--landscapes "
                                 "(folders of earlier runs), not both")
        pairs = check_models(split_list(args.models), split_list(args.weights, keep_empty=True), args.width,
                             args.normalize)
        landscape_settings(args)
        check_data_args(args)
        from neuralens.cnn.commands import compare_models_command

        return compare_models_command(args, pairs)
    if not args.gradflow and not landscapes:
        raise NeuralensError("nothing to compare: give --models A,B [--weights neuralens], or --gradflow DIR and/or "
                             "--landscapes DIR1,DIR2")
    wanted = [(p, "landscape.npz") for p in landscapes]
    if args.gradflow:
        wanted.append((Path(args.gradflow), "gradflow.json"))
    for folder, needed in wanted:
        if not (folder / needed).is_file():
            raise NeuralensError(f"{folder}: no {needed} (not a {needed.split('.')[0]} run folder)")
    from neuralens.cnn.commands import compare_command

    return compare_command(args, landscapes)


def _cmd_depth(args: argparse.Namespace) -> int:
    """The registry's depth series (``--depths``) or the user's (``--models``), checked before torch."""
    if args.models:
        models, weights = split_list(args.models), split_list(args.weights, keep_empty=True)
    else:
        if not all(d.isdigit() for d in split_list(args.depths)):
            raise NeuralensError(f"--depths {args.depths}: give depths as integers, e.g. 8,20,56,110")
        models = [f"{fam}{d}" for d in split_list(args.depths) for fam in ("resnet", "plain")]
        for n in models:
            check_model_name(n)
        # the shipped weights where a net has them; the other depths are studied at initialisation only
        shipped = set(available()) if (args.weights or SHIPPED) == SHIPPED else set()
        weights = [SHIPPED if n in shipped else "" for n in models]
    if not all(d.isdigit() for d in split_list(args.train_depths)):
        raise NeuralensError(f"--train-depths {args.train_depths}: give depths as integers, e.g. 8,20,56")
    args.train_names = [] if args.models else [f"{fam}{d}" for d in split_list(args.train_depths)
                                               for fam in ("resnet", "plain")]
    for n in args.train_names:
        check_model_name(n)
    pairs = check_models(models, weights, None, args.normalize)
    check_out(args.out)
    check_data_args(args)
    from neuralens.cnn.commands import depth_command

    return depth_command(args, pairs)


# ----------------------------------------------------------------------------------------------- parsers
def _add_train(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train a CIFAR classifier", formatter_class=Formatter,
                       epilog="examples:\n  neuralens train --model resnet18 --width 0.25 --epochs 5 --out runs/r18\n"
                              "  neuralens train --model vgg16_bn --epochs 40 --data ../shared/data/cifar10 "
                              "--out runs/v16\n  neuralens train --out runs/r18 --resume      # after Ctrl-C")
    add_options(p, TrainConfig)
    p.add_argument("--resume", action="store_true", help="continue from OUT/model.pt")
    p.add_argument("--out", default="runs/train", help="run folder: model.pt, history.csv, metrics.json")
    add_data_args(p)
    p.set_defaults(func=_cmd_train)


def _add_eval(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="evaluate a classifier: accuracy, confusion matrix, labelled predictions",
                       formatter_class=Formatter,
                       epilog="examples:\n  neuralens eval --model resnet18 --weights neuralens\n"
                              "  neuralens eval --checkpoint runs/r18/model.pt\n"
                              "  neuralens eval --model resnet.py:resnet20 --weights resnet20.th --normalize imagenet")
    p.add_argument("--checkpoint", default=None, help="a neuralens classifier checkpoint (or --model/--weights)")
    _add_model_args(p, many=False, default=None, checkpoint_alias=False)
    p.add_argument("--samples", type=positive_int, default=32, help="images in predictions.png")
    p.add_argument("--flip-tta", action="store_true", help="average the logits of each image and its mirror")
    p.add_argument("--out", default=None, help="run folder (default: CHECKPOINT_DIR/eval, or runs/eval_MODEL)")
    add_common(p)
    add_data_args(p, default="from-checkpoint")
    p.set_defaults(func=_cmd_eval)


MODEL_HELP = ("registry name (resnet18, vgg16_bn, plain18, tv_resnet18, ...), hub:OWNER/REPO:ENTRY, hub:DIR:ENTRY, "
              "or FILE.py:CALLABLE from your own code")
WEIGHTS_HELP = (f"{SHIPPED} (the weights neuralens ships: {', '.join(available()) or 'none installed'}) | imagenet | "
                "a neuralens checkpoint | a bare or wrapped state_dict ({'state_dict': ...}; module. prefixes "
                "removed); read without running code")
NORMALIZE_HELP = ("the mean/std the model was trained with: cifar | imagenet | none | R,G,B/R,G,B (default: the "
                  "shipped weights' own, imagenet for tv_*, else cifar)")


def _add_model_args(p: argparse.ArgumentParser, many: bool, default: str | None, checkpoint_alias: bool = True
                    ) -> None:
    """--model/--weights/--normalize; with ``many`` the first two are comma-separated lists, one entry per model
    (an empty weights entry: that model at initialisation only). ``--models`` and (``checkpoint_alias``)
    ``--checkpoint`` are the older spellings."""
    g = p.add_argument_group("model")
    g.add_argument("--model", "--models", dest="models" if many else "model", default=default,
                   help=("comma-separated: " if many else "") + MODEL_HELP)
    g.add_argument("--weights", *(["--checkpoint"] if checkpoint_alias else []), dest="weights", default=None,
                   help=(f"comma-separated, one per model (empty: at initialisation), or one of {SHIPPED}/imagenet "
                         "for all: " if many else "") + WEIGHTS_HELP)
    g.add_argument("--normalize", default=None, help=NORMALIZE_HELP)


def _add_study_args(p: argparse.ArgumentParser, out: str) -> None:
    """Options every inspection of models takes: width, output, seed and data."""
    p.add_argument("--width", type=width_multiplier, default=None,
                   help="channel width multiplier of registry nets (default: the weights' own, else 0.25)")
    p.add_argument("--out", default=out, help="run folder")
    p.add_argument("--seed", type=nonneg_int, default=0, help="seed of the initial weights and directions")
    p.add_argument("--device", type=device_name, default="auto", help="auto | cpu | cuda[:N]")
    add_data_args(p)


def _add_gradflow_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--batches", type=positive_int, default=8, help="batches averaged per model")
    p.add_argument("--batch-size", type=positive_int, default=128, help="images per batch")
    p.add_argument("--init-seeds", type=positive_int, default=3,
                   help="initialisations measured per model (seeds SEED, SEED+1, ...): their spread is reported")


def _add_landscape_args(p: argparse.ArgumentParser, steps: int) -> None:
    p.add_argument("--steps", type=positive_int, default=steps, help="grid points per axis (odd)")
    p.add_argument("--distance", type=positive_float, default=1.0, help="grid covers [-D, D]^2")
    p.add_argument("--eval-size", type=positive_int, default=512, help="test images the loss is measured on")
    p.add_argument("--hessian-steps", type=nonneg_int, default=0,
                   help="also the top Hessian eigenvalue by this many Lanczos steps (default: off; the Hessian is "
                        "`neuralens hessian`'s job)")
    p.add_argument("--hessian-seeds", type=positive_int, default=2,
                   help="probe seeds of the Hessian numbers; their spread is reported")
    p.add_argument("--trace-probes", type=nonneg_int, default=0,
                   help="Hutchinson probes per seed for the Hessian trace (0: skip)")
    p.add_argument("--directions", default="filter",
                   help=f"how the random directions are drawn: {', '.join(DIRECTIONS.names())}")
    p.add_argument("--direction-seeds", type=positive_int, default=2,
                   help="planes (seeds SEED, SEED+1, ...) the sharpness rings are measured on; their spread is shown")


def _add_gradflow(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("gradflow", help="per-layer gradient statistics (VGG16 vs ResNet18 by default)",
                       formatter_class=Formatter,
                       epilog="examples:\n  neuralens gradflow --out runs/gradflow\n"
                              "  neuralens gradflow --models vgg16_bn,resnet18,plain18 --weights neuralens\n"
                              "  neuralens gradflow --models vgg16,resnet18 --weights ,runs/r/model.pt")
    _add_model_args(p, many=True, default="vgg16,vgg16_bn,resnet18")
    _add_gradflow_args(p)
    _add_study_args(p, "runs/gradflow")
    p.set_defaults(func=_cmd_gradflow)


def _add_landscape(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("landscape", help="2-D loss landscape of one model, sharpness over random planes",
                       formatter_class=Formatter,
                       epilog="examples:\n  neuralens landscape --model resnet18 --weights neuralens --out runs/land\n"
                              "  neuralens landscape --model resnet18 --checkpoint runs/r18/model.pt --steps 51\n"
                              "  neuralens train --snapshots --epochs 4 --out runs/t && neuralens landscape "
                              "--trajectory runs/t\n"
                              "  torchrun --nproc-per-node 2 -m neuralens.cli landscape --model vgg16 --out runs/lv")
    _add_model_args(p, many=False, default="resnet18")
    p.add_argument("--trajectory", default=None,
                   help="a `train --snapshots` run folder: the plane of its two PCA directions around its final "
                        "weights, with the training path on it (Li et al. 2018)")
    _add_landscape_args(p, 21)
    _add_study_args(p, "runs/landscape")
    p.set_defaults(func=_cmd_landscape)


def _add_hessian(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("hessian", help="the loss Hessian: top-k eigenvalues, trace, spectral density, per layer",
                       formatter_class=Formatter,
                       epilog="examples:\n  neuralens hessian --model resnet18 --weights neuralens --out runs/hess\n"
                              "  neuralens hessian --model plain18 --weights neuralens --probe-seeds 3 --layer-iters 0")
    _add_model_args(p, many=False, default="resnet18")
    add_options(p, HessianSettings)
    _add_study_args(p, "runs/hessian")
    p.set_defaults(func=_cmd_hessian)


def _add_compare(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("compare-cnn", help="two or more CNNs in numbers: gradient flow and landscapes",
                       formatter_class=Formatter,
                       epilog="examples:\n  neuralens compare-cnn --models resnet18,plain18 --weights neuralens\n"
                              "  neuralens compare-cnn --gradflow runs/gf --landscapes runs/land_vgg,runs/land_r18")
    g = p.add_argument_group("earlier runs")
    g.add_argument("--gradflow", default=None, help="folder with gradflow.json")
    g.add_argument("--landscapes", default="", help="comma-separated landscape folders")
    _add_model_args(p, many=True, default=None, checkpoint_alias=False)
    _add_gradflow_args(p)
    _add_landscape_args(p, 11)
    _add_study_args(p, "runs/compare")
    p.set_defaults(func=_cmd_compare)


def _add_depth(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("depth", help="does the identity shortcut matter, depth by depth (resnetN vs plainN)",
                       formatter_class=Formatter,
                       epilog="examples:\n  neuralens depth --out runs/depth\n"
                              "  neuralens depth --depths 8,20,56,110,164 --seeds 5\n"
                              "  neuralens depth --models nets.py:resnet20,nets.py:plain20 --weights r20.pt,p20.pt "
                              "--normalize cifar")
    p.add_argument("--depths", default="8,20,56,110", help="depths 6n+2 of the registry's resnetN/plainN pairs")
    p.add_argument("--seeds", type=positive_int, default=3, help="initialisations per net (their spread decides)")
    p.add_argument("--batch-size", type=positive_int, default=128, help="training images of the gradient batch")
    p.add_argument("--train-depths", default="8,20,56", help="depths whose pairs train with one short recipe "
                   "(trainability; --depths series only)")
    p.add_argument("--train-steps", type=nonneg_int, default=200, help="steps of that recipe (0: no training)")
    p.add_argument("--no-curvature", action="store_true", help="skip the trained nets' landscapes and curvature "
                   "(top Hessian eigenvalue, non-convexity map, roughness)")
    g = p.add_argument_group("your own series (instead of --depths)")
    g.add_argument("--models", default=None, help="comma-separated specs, one per net: " + MODEL_HELP)
    g.add_argument("--weights", default=None, help=f"comma-separated, one per net (empty: at initialisation only); "
                   f"default for --depths: {SHIPPED} where shipped")
    g.add_argument("--normalize", default=None, help=NORMALIZE_HELP)
    p.add_argument("--out", default="runs/depth", help="run folder")
    p.add_argument("--seed", type=nonneg_int, default=0, help="first initialisation seed")
    add_data_args(p)
    p.set_defaults(func=_cmd_depth)


def add_commands(sub: argparse._SubParsersAction) -> None:
    for add in (_add_train, _add_eval, _add_gradflow, _add_landscape, _add_hessian, _add_compare, _add_depth):
        add(sub)
