"""``neuralens data fetch | list``: the data home (``$NEURALENS_DATA``, default ``~/.cache/neuralens/data``)."""

from __future__ import annotations

import argparse

from neuralens.core.cliargs import Formatter
from neuralens.core.io import log
from neuralens.data.home import DATASETS, FETCHERS, HOME_ENV, data_home, list_data


def _cmd_fetch(args: argparse.Namespace) -> int:
    names = DATASETS if args.dataset == "all" else (args.dataset,)
    for name in names:
        log(f"{name}: fetching into {data_home(args.data_root)}")
        print(FETCHERS[name](args.data_root))
    return 0


def _cmd_list(args: argparse.Namespace) -> int:
    print(f"data home: {data_home(args.data_root)}")
    for row in list_data(args.data_root):
        size = f"{row['bytes'] / 2**20:8.1f} MiB" if row["bytes"] else "       -    "
        print(f"  {row['name']:12s} {size}  {row['checksum']:26s} {row['path']}")
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("data", help="fetch real data once (CIFAR-10, tiny_nerf), verified and cached; list it",
                       formatter_class=Formatter,
                       epilog="examples:\n  neuralens data fetch all\n  neuralens data list\n"
                              f"  {HOME_ENV}=../shared/data neuralens data list\n"
                              "  NEURALENS_MIRROR=http://mirror.lab/files neuralens data fetch tiny_nerf")
    dsub = p.add_subparsers(dest="data_command", metavar="COMMAND", required=True)
    f = dsub.add_parser("fetch", help="download, verify and unpack into the data home", formatter_class=Formatter,
                        epilog="example:\n  neuralens data fetch cifar10")
    f.add_argument("dataset", nargs="?", default="all", choices=(*DATASETS, "all"),
                   help=f"what to fetch: {', '.join(DATASETS)} or all (default: all)")
    f.add_argument("--data-root", default=None, help=f"data home (default: ${HOME_ENV} or ~/.cache/neuralens/data)")
    f.set_defaults(func=_cmd_fetch)
    ls = dsub.add_parser("list", help="what the data home holds: sizes and checksum state", formatter_class=Formatter,
                         epilog="example:\n  neuralens data list")
    ls.add_argument("--data-root", default=None, help=f"data home (default: ${HOME_ENV} or ~/.cache/neuralens/data)")
    ls.set_defaults(func=_cmd_list)
