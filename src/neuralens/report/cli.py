"""``neuralens report RUN_DIR``: rebuild the report from a run folder (reads JSON and figures only). The folder is
checked for study results first, without torch; the builder is imported in the handler."""

from __future__ import annotations

import argparse
from pathlib import Path

from neuralens.core.cliargs import Formatter
from neuralens.core.errors import NeuralensError
from neuralens.core.io import check_out, read_json
from neuralens.report.layout import RESULT_FILES


def _cmd_report(args: argparse.Namespace) -> int:
    run_dir = Path(args.run_dir)
    if not run_dir.is_dir():
        raise NeuralensError(f"{run_dir}: run folder not found")
    files = [f for options in RESULT_FILES.values() for f in options]
    found = [run_dir / f for f in files if (run_dir / f).is_file()]
    if not found:
        raise NeuralensError(f"{run_dir}: no study results in it (none of {', '.join(files)}); give a `neuralens "
                             "demo` run folder")
    for path in found:  # another schema's folder is refused here, in one line, before any figure is drawn
        read_json(path)
    if args.out:
        check_out(Path(args.out).parent)
    from neuralens.report.builder import build_report

    print(build_report(run_dir, args.out))
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="write report.html from a run folder", formatter_class=Formatter,
                       epilog="example:\n  neuralens report runs/demo")
    p.add_argument("run_dir", help="a `neuralens demo` run folder")
    p.add_argument("--out", default=None, help="HTML file to write (default: RUN_DIR/report.html; a PDF beside it)")
    p.set_defaults(func=_cmd_report)
