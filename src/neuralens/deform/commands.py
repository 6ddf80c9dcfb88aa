"""What ``neuralens deform check | experiment | viz`` do once :mod:`neuralens.deform.cli` has checked the
arguments (without torch)."""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from neuralens.core.errors import NeuralensError
from neuralens.core.io import log, run_folder, write_json
from neuralens.core.wording import verdict_text
from neuralens.data.cifar import load_data_from_args
from neuralens.deform.adaptation import AdaptSettings, adaptation_verdicts, run_adaptation
from neuralens.deform.check import TOLERANCE, check_report
from neuralens.deform.experiment import run_experiment, warped_data
from neuralens.deform.viz import plot_experiment, plot_offset_heatmaps, plot_sampling_points
from neuralens.models.checkpoint import load_classifier
from neuralens.models.registry import create_model


def check_command(args: argparse.Namespace) -> int:
    report = check_report(args.cases, args.seed)
    if args.out:
        write_json(Path(args.out) / "check.json", report)
    for r in report["cases"]:
        print(f"{r['shape']:48s} output {r['max_abs_diff_output']:.2e}  grads {r['max_abs_diff_grads']:.2e}")
    ok = report["worst"] < TOLERANCE
    tol = f"{TOLERANCE:.0e}".replace("e-0", "e-")
    print(f"worst difference {report['worst']:.2e} ({'OK' if ok else 'MISMATCH'} at {tol})")
    return 0 if ok else 1


def experiment_command(args: argparse.Namespace) -> int:
    out = Path(args.out)
    data = warped_data(load_data_from_args(args), args.seed)
    with run_folder(out, vars(args)):
        res = run_experiment(data, out, args.epochs, args.width, args.seed, args.batch_size, args.lr, log=log)
        write_json(out / "results.json", res)
        plot_experiment(res, out / "curves.png")
    for name, r in res["models"].items():
        print(f"{name:10s} test accuracy {r['accuracy']:.4f}  {r['params']:,} params  {r['seconds']:.1f}s")
    return 0


def viz_command(args: argparse.Namespace) -> int:
    out = Path(args.out)
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


def adapt_command(args: argparse.Namespace) -> int:
    """``neuralens deform adapt``: the adaptation experiment into one run folder, then its two verdicts."""
    settings = AdaptSettings(n_train=args.train_size, n_test=args.test_size, epochs=args.epochs, seeds=args.seeds)
    with run_folder(Path(args.out), vars(args)):
        result = run_adaptation(settings, Path(args.out), log=log, device=args.device)
    for question, _, key, decision in adaptation_verdicts(result):
        print(f"{question} {verdict_text(key, decision)}")
    return 0
