"""The ``neuralens`` command line: one entry point, one sub-command per job.

This module only collects each study's parsers and turns errors into one line. Every sub-command writes into
one run folder (``--out``) and reports user errors as one line on stderr with exit code 2 (see
:class:`neuralens.core.errors.NeuralensError`); ``NEURALENS_DEBUG=1`` shows the traceback of a real bug.
Nothing imported here loads torch: ``--help`` and argument errors answer at once; a command's handler imports
its runner when it runs.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Iterator, Sequence
from typing import NoReturn

from neuralens.cnn import cli as cnn_cli
from neuralens.core import VERSION
from neuralens.core.errors import INTERRUPTED_EXIT, NeuralensError
from neuralens.core.progress import set_quiet
from neuralens.core.suggest import did_you_mean
from neuralens.data import cli as data_cli
from neuralens.deform import cli as deform_cli
from neuralens.demo import cli as demo_cli
from neuralens.nerf import cli as nerf_cli
from neuralens.report import cli as report_cli

DESCRIPTION = ("Look inside CNNs (gradient flow, loss landscapes), deformable convolution and tiny NeRF: three "
               "computer-vision studies, one command each, one HTML report.")
EPILOG = """examples:
  neuralens demo --quick                                   # every study (pretrained nets), then report.html
  neuralens train --model resnet18 --width 0.25 --epochs 5 --data cifar10 --data-root data --out runs/r18
  neuralens eval --model resnet18 --weights neuralens        # the shipped CIFAR-10 weights
  neuralens eval --checkpoint runs/r18/model.pt
  neuralens deform check                                   # our deform_conv2d against torchvision's
  neuralens nerf train --scene builtin --model tiny --iters 200 --out runs/nerf
  neuralens report runs/demo
"""

#: each study's ``add_commands(subparsers)``, in the order ``--help`` lists them
COMMAND_MODULES = (cnn_cli, deform_cli, nerf_cli, demo_cli, report_cli, data_cli)


class _Parser(argparse.ArgumentParser):
    """Bad arguments are one line and exit code 2, like every other user error; an unknown command or choice
    gets the closest valid names."""

    def error(self, message: str) -> NoReturn:
        bad = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)", message)
        if bad:
            choices = re.findall(r"'([^']*)'", bad.group(2))
            message = f"unknown {'command' if 'COMMAND' in message else 'choice'} {bad.group(1)!r}" \
                      f"{did_you_mean(bad.group(1), choices)}; choose from {', '.join(choices)}"
        where = self.prog.removeprefix("neuralens").strip()
        self.exit(2, f"neuralens: error: {where + ': ' if where else ''}{message}\n")


def _leaf_parsers(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    """Every parser that runs a command (those with a ``func`` default), however deeply nested."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in dict.fromkeys(action.choices.values()):
                yield from _leaf_parsers(child)
    if parser.get_default("func") is not None:
        yield parser


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="neuralens", description=DESCRIPTION, epilog=EPILOG,
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"neuralens {VERSION}")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress output on stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.add_commands(sub)
    for leaf in _leaf_parsers(parser):
        leaf.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS,
                          help="no progress output on stderr")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    set_quiet(args.quiet)
    try:
        return int(args.func(args) or 0)
    except NeuralensError as exc:
        print(f"neuralens: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("neuralens: interrupted", file=sys.stderr)
        return INTERRUPTED_EXIT
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
