"""``neuralens deform check | experiment | viz``: parsers, and calls into the study's library functions."""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from neuralens.core.cliargs import Formatter, nonneg_int, positive_float, positive_int, width_multiplier
from neuralens.core.errors import NeuralensError
from neuralens.core.io import check_out, log, run_folder, write_json
from neuralens.data.args import add_data_args, load_data_from_args
from neuralens.deform.check import TOLERANCE, check_report
from neuralens.deform.experiment import run_experiment, warped_data
from neuralens.deform.viz import plot_experiment, plot_offset_heatmaps, plot_sampling_points
from neuralens.models import create_model, load_classifier


def _cmd_check(args: argparse.Namespace) -> int:
    if args.out:
        check_out(args.out)
    report = check_report(args.cases, args.seed)
    if args.out:
        write_json(Path(args.out) / "check.json", report)
    for r in report["cases"]:
        print(f"{r['shape']:48s} output {r['max_abs_diff_output']:.2e}  grads {r['max_abs_diff_grads']:.2e}")
    ok = report["worst"] < TOLERANCE
    tol = f"{TOLERANCE:.0e}".replace("e-0", "e-")
    print(f"worst difference {report['worst']:.2e} ({'OK' if ok else 'MISMATCH'} at {tol})")
    return 0 if ok else 1


def _cmd_experiment(args: argparse.Namespace) -> int:
    out = check_out(args.out)
    data = warped_data(load_data_from_args(args), args.seed)
    with run_folder(out, vars(args)):
        res = run_experiment(data, out, args.epochs, args.width, args.seed, args.batch_size, args.lr, log=log)
        write_json(out / "results.json", res)
        plot_experiment(res, out / "curves.png")
    for name, r in res["models"].items():
        print(f"{name:10s} test accuracy {r['accuracy']:.4f}  {r['params']:,} params  {r['seconds']:.1f}s")
    return 0


def _cmd_viz(args: argparse.Namespace) -> int:
    out = check_out(args.out)
    data = load_data_from_args(args)
    if not 0 <= args.index < len(data.x_test):
        raise NeuralensError(f"--index must lie in 0..{len(data.x_test) - 1}")
    if args.checkpoint:
        model, _ = load_classifier(args.checkpoint, "small_dcn")  # from `neuralens deform experiment`
        note = f"trained offsets ({args.checkpoint})"
    else:
        torch.manual_seed(args.seed)
        model = create_model("small_dcn", num_classes=data.num_classes)
        for layer in model.deform_layers():  # illustrative only: random offsets instead of learned ones
            torch.nn.init.normal_(layer.offset_conv.weight, std=0.05)
        note = "UNTRAINED model with random offsets (pass --checkpoint for learned ones)"
    image = data.x_test[args.index].float() / 255
    print(plot_sampling_points(model, image, out / "sampling_points.png",
                               title=f"where one output pixel samples: {note}"))
    print(plot_offset_heatmaps(model, image, out / "offset_magnitude.png"))
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("deform", help="deformable convolution: check, experiment, viz", formatter_class=Formatter,
                       epilog="examples:\n  neuralens deform check\n"
                              "  neuralens deform experiment --epochs 3 --out runs/dcn\n"
                              "  neuralens deform viz --checkpoint runs/dcn/small_dcn/model.pt --out runs/dcn/viz")
    dsub = p.add_subparsers(dest="deform_command", metavar="COMMAND", required=True)
    c = dsub.add_parser("check", help="compare deform_conv2d with torchvision on random shapes",
                        formatter_class=Formatter, epilog="example:\n  neuralens deform check --cases 20")
    c.add_argument("--cases", type=positive_int, default=12)
    c.add_argument("--seed", type=nonneg_int, default=0)
    c.add_argument("--out", default=None, help="also write OUT/check.json")
    c.set_defaults(func=_cmd_check)

    e = dsub.add_parser("experiment", help="small CNN vs the same CNN with deformable layers, same budget",
                        formatter_class=Formatter,
                        epilog="example:\n  neuralens deform experiment --epochs 3 --out runs/dcn")
    e.add_argument("--epochs", type=positive_int, default=3)
    e.add_argument("--width", type=width_multiplier, default=1.0)
    e.add_argument("--batch-size", type=positive_int, default=128)
    e.add_argument("--lr", type=positive_float, default=0.05)
    e.add_argument("--seed", type=nonneg_int, default=0)
    e.add_argument("--out", default="runs/dcn")
    add_data_args(e)
    e.set_defaults(func=_cmd_experiment)

    v = dsub.add_parser("viz", help="sampling points of one pixel through 1-3 deformable layers; offset heat map",
                        formatter_class=Formatter,
                        epilog="example:\n"
                               "  neuralens deform viz --checkpoint runs/dcn/small_dcn/model.pt --out runs/dcn/viz")
    v.add_argument("--checkpoint", default=None, help="small_dcn checkpoint from `deform experiment`")
    v.add_argument("--index", type=nonneg_int, default=0, help="test image to show")
    v.add_argument("--seed", type=nonneg_int, default=0)
    v.add_argument("--out", default="runs/dcn/viz")
    add_data_args(v)
    v.set_defaults(func=_cmd_viz)
