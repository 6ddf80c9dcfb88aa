"""``neuralens demo``: every study on built-in defaults, then the report. The arguments become a
:class:`~neuralens.demo.config.DemoConfig`, checked without torch before the demo (imported in the handler) runs."""

from __future__ import annotations

import argparse
from pathlib import Path

from neuralens.core.cliargs import Formatter, add_common, split_list
from neuralens.core.io import check_out, run_folder
from neuralens.demo.config import STEP_TITLES, DemoConfig


def _cmd_demo(args: argparse.Namespace) -> int:
    cfg = DemoConfig(out=Path(args.out), quick=args.quick, force=args.force, seed=args.seed, data_root=args.data_root,
                     device=args.device, only=tuple(split_list(args.only)), models=tuple(split_list(args.models)),
                     weights=tuple(split_list(args.weights, keep_empty=True)), normalize=args.normalize,
                     offline=args.offline, train=args.train)
    cfg.check()
    check_out(cfg.out)
    from neuralens.demo.run import run_demo

    with run_folder(cfg.out, vars(args)):
        report = run_demo(cfg)
    print(report)
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    steps = ", ".join(STEP_TITLES)
    p = sub.add_parser("demo", help="run every study and write report.html (pretrained nets, offline, CPU)",
                       formatter_class=Formatter,
                       epilog=f"steps: {steps}\nexamples:\n  neuralens demo --quick\n"
                              "  NEURALENS_DATA=../shared/data neuralens demo --out runs/demo\n"
                              "  neuralens demo --models resnet18,plain18 --weights neuralens --only cnn,gradflow")
    p.add_argument("--out", default="runs/demo", help="run folder; the report is OUT/report.html")
    p.add_argument("--quick", action="store_true", help="tiny sizes (about a minute)")
    p.add_argument("--force", action="store_true", help="redo steps that already finished")
    p.add_argument("--only", default="", help=f"comma-separated steps to run ({steps}; default: all)")
    p.add_argument("--data-root", default=None,
                   help="data home (default: $NEURALENS_DATA or ~/.cache/neuralens/data); what it lacks is fetched")
    p.add_argument("--offline", action="store_true", help="fetch nothing: generated stand-ins for missing data")
    p.add_argument("--train", action="store_true",
                   help="train VGG16-BN and ResNet18 briefly from scratch instead of studying the shipped weights")
    g = p.add_argument_group("your own models (instead of the shipped VGG16-BN, ResNet18 and Plain18)")
    g.add_argument("--models", default="", help="two comma-separated model specs (see `neuralens eval --help`)")
    g.add_argument("--weights", default="",
                   help="comma-separated, one per model (empty: at initialisation), or neuralens/imagenet for both")
    g.add_argument("--normalize", default=None, help="cifar | imagenet | none | R,G,B/R,G,B")
    add_common(p)
    p.set_defaults(func=_cmd_demo)
