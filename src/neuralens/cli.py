"""The ``neuralens`` command line: one entry point, one sub-command per job.

Every sub-command writes into one run folder (``--out``) and reports user errors as one line on stderr with
exit code 2 (see :class:`neuralens.errors.NeuralensError`).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from neuralens.errors import NeuralensError

Handler = Callable[[argparse.Namespace], int | None]

EPILOG = """examples:
  neuralens demo --quick                                   # every study on built-in data, then report.html
  neuralens train --model resnet18 --width 0.25 --epochs 5 --data cifar10 --data-root data --out runs/r18
  neuralens eval --checkpoint runs/r18/model.pt
  neuralens deform check                                   # our deform_conv2d against torchvision's
  neuralens nerf train --scene builtin --model tiny --iters 200 --out runs/nerf
  neuralens report runs/demo
"""


class _Formatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    pass


def add_data_args(p: argparse.ArgumentParser, default: str = "auto") -> None:
    """--data / --data-root / --download / size limits, shared by every CNN command."""
    g = p.add_argument_group("data")
    g.add_argument("--data", default=default,
                   help="auto | cifar10 | synthetic | PATH (.npz, folder of *_train/_test.npz, ImageFolder)")
    g.add_argument("--data-root", default="data", help="where CIFAR-10 lives (cifar-10-batches-py or *_train.npz)")
    g.add_argument("--download", action="store_true", help="let torchvision download CIFAR-10 (needs a network)")
    g.add_argument("--train-size", type=int, default=None, help="use only the first N training images")
    g.add_argument("--test-size", type=int, default=None, help="use only the first N test images")


def load_data_from_args(args: argparse.Namespace, spec: str | None = None) -> Any:
    from neuralens.data.cifar import load_image_data

    n_train = args.train_size or 10000
    n_test = args.test_size or 2000
    data = load_image_data(spec or args.data, args.data_root, download=args.download,
                           synthetic_size=(n_train, n_test), seed=getattr(args, "seed", 0),
                           log=lambda m: print(m, file=sys.stderr))
    for name in ("train_size", "test_size"):
        v = getattr(args, name)
        if v is not None and v <= 0:
            raise NeuralensError(f"--{name.replace('_', '-')} must be positive, got {v}")
    return data.subset(args.train_size, args.test_size)


def positive_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not v > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return v


def positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if v <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return v


# ----------------------------------------------------------------------------------------------- train / eval
def _cmd_train(args: argparse.Namespace) -> int:
    from neuralens.io import write_config
    from neuralens.models.registry import check_model_name
    from neuralens.models.train import TrainConfig, train
    from neuralens.models.viz import plot_history

    if args.pretrained is None or not args.pretrained.startswith("hub:"):
        check_model_name(args.model)
    data = load_data_from_args(args)
    print(f"data: {data.source}: {len(data.x_train)} train / {len(data.x_test)} test images", file=sys.stderr)
    cfg = TrainConfig(model=args.model, width=args.width, epochs=args.epochs, batch_size=args.batch_size,
                      lr=args.lr, seed=args.seed, device=args.device, steps_per_epoch=args.steps_per_epoch,
                      pretrained=args.pretrained, data=args.data, channels_last=not args.no_channels_last,
                      precision=args.precision, weight_decay=args.weight_decay,
                      label_smoothing=args.label_smoothing, crop_pad=args.crop_pad)
    write_config(args.out, vars(args))
    metrics = train(cfg, data, args.out, resume=args.resume, log=lambda m: print(m, file=sys.stderr))
    if metrics["history"]:
        plot_history(metrics["history"], Path(args.out) / "history.png", f"{args.model} x{args.width}")
    print(f"test accuracy {metrics['accuracy']:.4f}  loss {metrics['loss']:.4f}  -> {Path(args.out) / 'model.pt'}")
    return 0


def _cmd_eval(args: argparse.Namespace) -> int:
    from neuralens.io import write_config, write_json
    from neuralens.models.checkpoint import load_checkpoint, model_from_checkpoint
    from neuralens.models.train import classifier_metrics, evaluate
    from neuralens.models.viz import plot_confusion, plot_predictions
    from neuralens.utils import resolve_device

    ckpt = load_checkpoint(args.checkpoint, kind="classifier")
    model = model_from_checkpoint(ckpt, args.checkpoint).to(resolve_device(args.device))
    spec = args.data if args.data != "from-checkpoint" else ckpt["config"].get("data_spec", "auto")
    data = load_data_from_args(args, spec)
    classes = ckpt["config"].get("classes", data.classes)
    if len(classes) != data.num_classes:
        raise NeuralensError(f"checkpoint predicts {len(classes)} classes but the data has {data.num_classes}")
    out = Path(args.out or Path(args.checkpoint).parent / "eval")
    write_config(out, vars(args))
    res = evaluate(model, data.x_test, data.y_test, len(classes), flip_tta=args.flip_tta)
    metrics = classifier_metrics(res, classes)
    metrics.update({"checkpoint": str(args.checkpoint), "arch": ckpt["arch"], "data": data.source,
                    "n_images": len(data.y_test), "flip_tta": args.flip_tta})
    write_json(out / "metrics.json", metrics)
    plot_confusion(res["confusion"], classes, out / "confusion.png", f"{ckpt['arch']} on {data.source}")
    k = min(args.samples, len(data.x_test))
    plot_predictions(data.x_test[:k], data.y_test[:k], res["predictions"][:k], classes, out / "predictions.png",
                     title=f"{ckpt['arch']}: predicted (true)")
    print(f"accuracy {metrics['accuracy']:.4f}  loss {metrics['loss']:.4f}  on {len(data.y_test)} images -> {out}")
    return 0


def _add_train_eval(sub: argparse._SubParsersAction) -> None:
    from neuralens.models.registry import list_models
    from neuralens.models.train import TrainConfig
    from neuralens.utils import PRECISIONS

    p = sub.add_parser("train", help="train a CIFAR classifier", formatter_class=_Formatter,
                       epilog="example:\n  neuralens train --model resnet18 --width 0.25 --epochs 5 --data cifar10 "
                              "--data-root ../shared/data/cifar10 --out runs/r18")
    p.add_argument("--model", default="resnet18", help=f"one of {', '.join(list_models())}")
    p.add_argument("--width", type=positive_float, default=0.25, help="channel width multiplier")
    p.add_argument("--epochs", type=positive_int, default=TrainConfig.epochs)
    p.add_argument("--batch-size", type=positive_int, default=TrainConfig.batch_size)
    p.add_argument("--lr", type=positive_float, default=TrainConfig.lr, help="peak LR of the one-cycle schedule")
    p.add_argument("--weight-decay", type=float, default=TrainConfig.weight_decay)
    p.add_argument("--label-smoothing", type=float, default=TrainConfig.label_smoothing)
    p.add_argument("--crop-pad", type=int, default=TrainConfig.crop_pad, help="random-crop padding in pixels")
    p.add_argument("--steps-per-epoch", type=positive_int, default=None, help="cap steps per epoch (quick runs)")
    p.add_argument("--pretrained", default=None, help="imagenet | checkpoint.pt | hub:REPO:ENTRY")
    p.add_argument("--no-channels-last", action="store_true", help="keep NCHW contiguous tensors")
    p.add_argument("--precision", choices=PRECISIONS, default="auto",
                   help="autocast dtype of the training step; auto = bf16 where the CPU/GPU has it natively")
    p.add_argument("--resume", action="store_true", help="continue from OUT/model.pt")
    p.add_argument("--out", default="runs/train")
    add_common(p)
    add_data_args(p)
    p.set_defaults(func=_cmd_train)

    p = sub.add_parser("eval", help="evaluate a checkpoint: accuracy, confusion matrix, labelled predictions",
                       formatter_class=_Formatter,
                       epilog="example:\n  neuralens eval --checkpoint runs/r18/model.pt --out runs/r18/eval")
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--samples", type=positive_int, default=32, help="images in predictions.png")
    p.add_argument("--flip-tta", action="store_true", help="average the logits of each image and its mirror")
    p.add_argument("--out", default=None, help="default: CHECKPOINT_DIR/eval")
    add_common(p)
    add_data_args(p, default="from-checkpoint")
    p.set_defaults(func=_cmd_eval)


def add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--seed", type=int, default=0, help="seed for every random choice")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda")


# ----------------------------------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    from neuralens import __version__

    parser = argparse.ArgumentParser(prog="neuralens", description=__doc__.splitlines()[0],
                                     epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"neuralens {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_train_eval(sub)
    for module in _COMMAND_MODULES:
        __import__(module, fromlist=["add_commands"]).add_commands(sub)
    return parser


#: study modules that contribute sub-commands through ``add_commands(subparsers)``
_COMMAND_MODULES = [
    "neuralens.inspect_cli",
    "neuralens.deform.cli",
    "neuralens.nerf.cli",
    "neuralens.demo",
]


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except NeuralensError as exc:
        print(f"neuralens: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("neuralens: interrupted", file=sys.stderr)
        return 130
    except (FileNotFoundError, PermissionError, IsADirectoryError, NotADirectoryError) as exc:
        print(f"neuralens: error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # a bug, not bad input: one line unless asked for the traceback
        if os.environ.get("NEURALENS_DEBUG"):
            raise
        print(f"neuralens: internal error: {exc.__class__.__name__}: {exc} "
              "(set NEURALENS_DEBUG=1 for the traceback)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
