"""``neuralens demo``: every study on built-in defaults, then the report."""

from __future__ import annotations

import argparse

from neuralens.core.cliargs import Formatter, add_common, split_list
from neuralens.core.errors import NeuralensError
from neuralens.core.io import run_folder
from neuralens.demo.run import STEPS, run_demo
from neuralens.models.spec import parse_model_spec, parse_normalize


def _cmd_demo(args: argparse.Namespace) -> int:
    only = [s for s in args.only.split(",") if s] if args.only else None
    known = {s.name for s in STEPS}
    if only and set(only) - known:
        raise NeuralensError(f"--only: unknown step(s) {sorted(set(only) - known)}; steps: {', '.join(sorted(known))}")
    models, weights = tuple(split_list(args.models)), tuple(split_list(args.weights, keep_empty=True))
    if models and len(models) != 2:
        raise NeuralensError(f"--models: give two model specs to compare, got {len(models)}")
    if weights and len(weights) != len(models):
        raise NeuralensError(f"--weights: give one per model ({len(models)}), got {len(weights)}")
    for spec in models:
        parse_model_spec(spec)
    if args.normalize:
        parse_normalize(args.normalize)
    with run_folder(args.out, vars(args)):
        report = run_demo(args.out, args.quick, args.force, args.seed, args.data_root, args.device, only, models,
                          weights, args.normalize, args.offline)
    print(report)
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    steps = ", ".join(s.name for s in STEPS)
    p = sub.add_parser("demo", help="run every study on built-in data and write report.html",
                       formatter_class=Formatter,
                       epilog=f"steps: {steps}\nexamples:\n  neuralens demo --quick\n"
                              "  NEURALENS_DATA=../shared/data neuralens demo --out runs/demo")
    p.add_argument("--out", default="runs/demo")
    p.add_argument("--quick", action="store_true", help="tiny sizes (about 3 minutes)")
    p.add_argument("--force", action="store_true", help="redo steps that already finished")
    p.add_argument("--only", default="", help=f"comma-separated steps to run ({steps})")
    p.add_argument("--data-root", default=None,
                   help="data home (default: $NEURALENS_DATA or ~/.cache/neuralens/data); what it lacks is fetched")
    p.add_argument("--offline", action="store_true", help="fetch nothing: generated stand-ins for missing data")
    g = p.add_argument_group("your own models (instead of training VGG16-BN and ResNet18 briefly)")
    g.add_argument("--models", default="", help="two comma-separated model specs (see `neuralens eval --help`)")
    g.add_argument("--weights", default="", help="comma-separated, one per model (empty: at initialisation)")
    g.add_argument("--normalize", default=None, help="cifar | imagenet | none | R,G,B/R,G,B")
    add_common(p)
    p.set_defaults(func=_cmd_demo)
