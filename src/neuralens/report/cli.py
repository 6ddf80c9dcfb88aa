"""``neuralens report RUN_DIR``: rebuild the report from a run folder (reads JSON and figures only)."""

from __future__ import annotations

import argparse

from neuralens.core.cliargs import Formatter
from neuralens.report.builder import build_report


def _cmd_report(args: argparse.Namespace) -> int:
    print(build_report(args.run_dir, args.out))
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="write report.html from a run folder", formatter_class=Formatter,
                       epilog="example:\n  neuralens report runs/demo")
    p.add_argument("run_dir")
    p.add_argument("--out", default=None, help="default: RUN_DIR/report.html")
    p.set_defaults(func=_cmd_report)
