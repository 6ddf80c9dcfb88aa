"""The ``neuralens`` command line: one entry point, one sub-command per job.

This module only collects each study's parsers and turns errors into one line. Every sub-command writes into
one run folder (``--out``) and reports user errors as one line on stderr with exit code 2 (see
:class:`neuralens.core.errors.NeuralensError`); ``NEURALENS_DEBUG=1`` shows the traceback of a real bug.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from neuralens.cnn import cli as cnn_cli
from neuralens.core import VERSION
from neuralens.core.errors import NeuralensError
from neuralens.data import cli as data_cli
from neuralens.deform import cli as deform_cli
from neuralens.demo import cli as demo_cli
from neuralens.nerf import cli as nerf_cli
from neuralens.report import cli as report_cli

EPILOG = """examples:
  neuralens demo --quick                                   # every study on built-in data, then report.html
  neuralens train --model resnet18 --width 0.25 --epochs 5 --data cifar10 --data-root data --out runs/r18
  neuralens eval --checkpoint runs/r18/model.pt
  neuralens deform check                                   # our deform_conv2d against torchvision's
  neuralens nerf train --scene builtin --model tiny --iters 200 --out runs/nerf
  neuralens report runs/demo
"""

#: each study's ``add_commands(subparsers)``, in the order ``--help`` lists them
COMMAND_MODULES = (cnn_cli, deform_cli, nerf_cli, demo_cli, report_cli, data_cli)


class _Parser(argparse.ArgumentParser):
    """Bad arguments are one line and exit code 2, like every other user error."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"neuralens: error: {self.prog.removeprefix('neuralens ')}: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="neuralens", description=__doc__.splitlines()[0], epilog=EPILOG,
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"neuralens {VERSION}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.add_commands(sub)
    return parser


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
