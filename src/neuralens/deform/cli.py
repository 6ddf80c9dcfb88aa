"""``neuralens deform check | experiment | viz``: parsers, the checks that need no data, and a call into
:mod:`neuralens.deform.commands` (imported in the handler, so ``--help`` and argument errors need no torch)."""

from __future__ import annotations

import argparse

from neuralens.core.cliargs import Formatter, device_name, nonneg_int, positive_float, positive_int, width_multiplier
from neuralens.core.files import check_weights_file
from neuralens.core.io import check_out
from neuralens.data.args import add_data_args, check_data_args


def _cmd_check(args: argparse.Namespace) -> int:
    if args.out:
        check_out(args.out)
    from neuralens.deform.commands import check_command

    return check_command(args)


def _cmd_experiment(args: argparse.Namespace) -> int:
    check_out(args.out)
    check_data_args(args)
    from neuralens.deform.commands import experiment_command

    return experiment_command(args)


def _cmd_adapt(args: argparse.Namespace) -> int:
    check_out(args.out)
    from neuralens.deform.commands import adapt_command

    return adapt_command(args)


def _cmd_viz(args: argparse.Namespace) -> int:
    check_out(args.out)
    if args.checkpoint:
        check_weights_file(args.checkpoint, "--checkpoint")
    check_data_args(args)
    from neuralens.deform.commands import viz_command

    return viz_command(args)


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("deform", help="deformable convolution: check, experiment, viz", formatter_class=Formatter,
                       epilog="examples:\n  neuralens deform check\n"
                              "  neuralens deform experiment --epochs 3 --out runs/dcn\n"
                              "  neuralens deform viz --checkpoint runs/dcn/small_dcn/model.pt --out runs/dcn/viz")
    dsub = p.add_subparsers(dest="deform_command", metavar="COMMAND", required=True)
    c = dsub.add_parser("check", help="compare deform_conv2d with torchvision on random shapes",
                        formatter_class=Formatter, epilog="example:\n  neuralens deform check --cases 20")
    c.add_argument("--cases", type=positive_int, default=12, help="random shapes to compare")
    c.add_argument("--seed", type=nonneg_int, default=0, help="seed of the shapes, inputs and offsets")
    c.add_argument("--out", default=None, help="also write OUT/check.json")
    c.set_defaults(func=_cmd_check)

    e = dsub.add_parser("experiment", help="small CNN vs the same CNN with deformable layers, same budget",
                        formatter_class=Formatter,
                        epilog="example:\n  neuralens deform experiment --epochs 3 --out runs/dcn")
    e.add_argument("--epochs", type=positive_int, default=3, help="passes over the training set, both nets")
    e.add_argument("--width", type=width_multiplier, default=1.0, help="channel width multiplier of both nets")
    e.add_argument("--batch-size", type=positive_int, default=128, help="images per step")
    e.add_argument("--lr", type=positive_float, default=0.05, help="peak learning rate")
    e.add_argument("--seed", type=nonneg_int, default=0, help="seed for data warping, weights and batches")
    e.add_argument("--out", default="runs/dcn", help="run folder: one subfolder per net, results.json, curves.png")
    add_data_args(e)
    e.set_defaults(func=_cmd_experiment)

    a = dsub.add_parser("adapt", help="does the receptive field adapt to the object's size? (Dai et al. 2017, "
                        "Table 2)", formatter_class=Formatter,
                        epilog="example:\n  neuralens deform adapt --out runs/adapt")
    a.add_argument("--epochs", type=positive_int, default=8, help="passes over the training images, both nets")
    a.add_argument("--seeds", type=positive_int, default=3, help="training seeds (the verdict needs 3)")
    a.add_argument("--train-size", type=positive_int, default=6000, help="training images of the shapes task")
    a.add_argument("--test-size", type=positive_int, default=600, help="test images measured")
    a.add_argument("--device", type=device_name, default="auto", help="auto | cpu | cuda[:N]")
    a.add_argument("--out", default="runs/adapt", help="run folder: adapt.json, figures, the deformable net of seed 0")
    a.set_defaults(func=_cmd_adapt)

    v = dsub.add_parser("viz", help="sampling points of one pixel through 1-3 deformable layers; offset heat map",
                        formatter_class=Formatter,
                        epilog="example:\n"
                               "  neuralens deform viz --checkpoint runs/dcn/small_dcn/model.pt --out runs/dcn/viz")
    v.add_argument("--checkpoint", default=None, help="small_dcn checkpoint from `deform experiment`")
    v.add_argument("--index", type=nonneg_int, default=0, help="test image to show")
    v.add_argument("--seed", type=nonneg_int, default=0, help="seed of the random offsets without --checkpoint")
    v.add_argument("--out", default="runs/dcn/viz", help="folder for sampling_points.png, offset_magnitude.png")
    add_data_args(v)
    v.set_defaults(func=_cmd_viz)
