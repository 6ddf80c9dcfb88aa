"""The data options of every command that reads images (``--data``, ``--data-root``, sizes), and their checks.

Everything here runs without torch, before any data is loaded, generated or downloaded: a wrong ``--data`` is
answered at once (loading is :func:`neuralens.data.cifar.load_data_from_args`).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from neuralens.core.cliargs import positive_int
from neuralens.core.errors import NeuralensError
from neuralens.core.suggest import did_you_mean
from neuralens.data.home import cifar_root, has_cifar

#: ``--data`` values that are names, not paths
DATA_NAMES = ("auto", "cifar10", "synthetic")


def add_data_args(p: argparse.ArgumentParser, default: str = "auto") -> None:
    """--data / --data-root / --download / size limits, shared by every command that reads images."""
    g = p.add_argument_group("data")
    g.add_argument("--data", default=default,
                   help="auto (the data home's CIFAR-10 when it is there, else generated shapes) | cifar10 | "
                        "synthetic | PATH (.npz, folder of *_train/_test.npz, ImageFolder)")
    g.add_argument("--data-root", default=None,
                   help="the data home (CIFAR-10 under its cifar10/) or a CIFAR-10 folder (cifar-10-batches-py or "
                        "*_train.npz); default: $NEURALENS_DATA or ~/.cache/neuralens/data")
    g.add_argument("--download", action="store_true", help="fetch CIFAR-10 into the data home first (network)")
    g.add_argument("--train-size", type=positive_int, default=None, help="use only the first N training images")
    g.add_argument("--test-size", type=positive_int, default=None, help="use only the first N test images")


def check_data_args(args: argparse.Namespace, spec: str | None = None) -> None:
    """``--data`` names something that exists: a known name, CIFAR-10 in the data home for ``cifar10``, or a
    file/folder; else one line with the closest names."""
    spec = spec or args.data
    root = getattr(args, "data_root", None)
    if root and not Path(root).is_dir():
        raise NeuralensError(f"--data-root {root}: no such folder")
    if spec in ("auto", "synthetic", "from-checkpoint"):
        return
    if spec == "cifar10":
        if not getattr(args, "download", False) and not has_cifar(cifar_root(root)):
            raise NeuralensError(f"--data cifar10: no CIFAR-10 under {cifar_root(root)}; run `neuralens data fetch "
                                 "cifar10` (network), add --download, or give --data-root/--data PATH")
        return
    path = Path(spec)
    if path.is_file() and path.suffix != ".npz":
        raise NeuralensError(f"--data {spec}: unsupported file type; give an .npz with x and y, or a folder")
    if not path.exists():
        raise NeuralensError(f"--data {spec!r}: no such file or folder{did_you_mean(spec, DATA_NAMES)} (use "
                             f"{', '.join(DATA_NAMES)} or a path)")
