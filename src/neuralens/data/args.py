"""The data options of every command that reads images (``--data``, ``--data-root``, sizes) and their loader."""

from __future__ import annotations

import argparse

from neuralens.core.cliargs import positive_int
from neuralens.core.io import log
from neuralens.data.cifar import ImageData, load_image_data


def add_data_args(p: argparse.ArgumentParser, default: str = "auto") -> None:
    """--data / --data-root / --download / size limits, shared by every command that reads images."""
    g = p.add_argument_group("data")
    g.add_argument("--data", default=default,
                   help="auto | cifar10 | synthetic | PATH (.npz, folder of *_train/_test.npz, ImageFolder)")
    g.add_argument("--data-root", default=None,
                   help="the data home (CIFAR-10 under its cifar10/) or a CIFAR-10 folder (cifar-10-batches-py or "
                        "*_train.npz); default: $NEURALENS_DATA or ~/.cache/neuralens/data")
    g.add_argument("--download", action="store_true", help="fetch CIFAR-10 into the data home first (network)")
    g.add_argument("--train-size", type=positive_int, default=None, help="use only the first N training images")
    g.add_argument("--test-size", type=positive_int, default=None, help="use only the first N test images")


def load_data_from_args(args: argparse.Namespace, spec: str | None = None) -> ImageData:
    """The images ``args`` ask for (``spec`` overrides ``--data``), cut to the requested sizes."""
    data = load_image_data(spec or args.data, args.data_root, download=args.download,
                           synthetic_size=(args.train_size or 10000, args.test_size or 2000),
                           seed=getattr(args, "seed", 0), log=log)
    return data.subset(args.train_size, args.test_size)
