"""The data home: where real data lives once fetched (``$NEURALENS_DATA``, default ``~/.cache/neuralens/data``;
``--data-root`` overrides), laid out as ``cifar10/`` and ``nerf/``, and what is in it."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from neuralens.core.errors import NeuralensError
from neuralens.data.download import download, file_digest

HOME_ENV = "NEURALENS_DATA"
TINY_NERF_URL = "http://cseweb.ucsd.edu/~viscomp/projects/LF/papers/ECCV20/nerf/tiny_nerf_data.npz"
TINY_NERF_SIZE = 12_727_482
TINY_NERF_SHA256 = "3887ad58a4112aa0bab27f4011dc2ae1668fb668be879573e1534165217c3356"
TINY_NERF_FILE = "tiny_nerf_data.npz"
#: NeRF scenes ``--scene auto`` takes from ``nerf/``, in this order
NERF_SCENES = (TINY_NERF_FILE, "lego_100.npz")
DATASETS = ("cifar10", "tiny_nerf")
#: torchvision's CIFAR-10 folder name (``CIFAR10.base_folder``), known here without importing torchvision
CIFAR10_FOLDER = "cifar-10-batches-py"


def data_home(root: str | os.PathLike[str] | None = None) -> Path:
    """``root`` if given, else ``$NEURALENS_DATA``, else ``~/.cache/neuralens/data``."""
    if root:
        return Path(root)
    return Path(os.environ.get(HOME_ENV) or Path.home() / ".cache" / "neuralens" / "data")


def cifar_root(root: str | os.PathLike[str] | None = None) -> Path:
    """The CIFAR-10 folder: ``HOME/cifar10`` of the data home, or ``root`` itself when it is a CIFAR folder."""
    home = data_home(root)
    return home / "cifar10" if (home / "cifar10").is_dir() or not root else home


def has_cifar(folder: Path) -> bool:
    """torchvision's ``cifar-10-batches-py`` or a ``*_train.npz`` / ``*_test.npz`` pair is there."""
    return folder.is_dir() and ((folder / CIFAR10_FOLDER).is_dir()
                                or (any(folder.glob("*_train.npz")) and any(folder.glob("*_test.npz"))))


def nerf_scene(root: str | os.PathLike[str] | None = None) -> Path | None:
    """The real NeRF scene of the data home (tiny_nerf first), or None."""
    folder = data_home(root) / "nerf"
    return next((folder / f for f in NERF_SCENES if (folder / f).is_file()), None)


def fetch_cifar10(root: str | os.PathLike[str] | None = None, progress: bool = True) -> Path:
    """CIFAR-10 from its authors' URL (torchvision's, with its MD5), unpacked atomically into ``HOME/cifar10``."""
    from torchvision.datasets import CIFAR10  # lazy: seconds to import; the CLI checks the data home without it
    from torchvision.datasets.utils import extract_archive  # lazy: as above

    folder = data_home(root) / "cifar10"
    if has_cifar(folder):
        return folder
    tarball = download(CIFAR10.url, folder / CIFAR10.filename, checksum=("md5", CIFAR10.tgz_md5), progress=progress)
    with tempfile.TemporaryDirectory(dir=folder, prefix=".unpack.") as tmp:
        extract_archive(str(tarball), tmp)
        if not CIFAR10(tmp, train=True, download=False)._check_integrity():
            raise NeuralensError(f"{tarball}: unpacked files fail torchvision's CIFAR-10 checks; delete it and retry")
        os.replace(Path(tmp) / CIFAR10.base_folder, folder / CIFAR10.base_folder)
    tarball.unlink()
    return folder


def fetch_tiny_nerf(root: str | os.PathLike[str] | None = None, progress: bool = True) -> Path:
    """The tiny_nerf notebook's ``tiny_nerf_data.npz`` (size and SHA-256 checked) into ``HOME/nerf``."""
    return download(TINY_NERF_URL, data_home(root) / "nerf" / TINY_NERF_FILE, TINY_NERF_SIZE,
                    ("sha256", TINY_NERF_SHA256), progress=progress)


FETCHERS = {"cifar10": fetch_cifar10, "tiny_nerf": fetch_tiny_nerf}


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else path.stat().st_size


def list_data(root: str | os.PathLike[str] | None = None) -> list[dict[str, Any]]:
    """What the data home holds: each dataset's path, size and checksum state."""
    from torchvision.datasets import CIFAR10  # lazy: seconds to import; only the checksum needs it

    home = data_home(root)
    rows = []
    cifar = home / "cifar10"
    if (cifar / CIFAR10.base_folder).is_dir():
        ok = CIFAR10(str(cifar), train=True, download=False)._check_integrity()
        rows.append({"name": "cifar10", "path": cifar, "bytes": _size(cifar),
                     "checksum": "md5 ok (torchvision)" if ok else "md5 MISMATCH"})
    elif has_cifar(cifar):
        rows.append({"name": "cifar10", "path": cifar, "bytes": _size(cifar), "checksum": "npz copy, no reference"})
    else:
        rows.append({"name": "cifar10", "path": cifar, "bytes": 0, "checksum": "missing"})
    for name in NERF_SCENES:
        path = home / "nerf" / name
        if name == TINY_NERF_FILE or path.is_file():
            state = "missing"
            if path.is_file():
                state = ("sha256 ok" if file_digest(path, "sha256") == TINY_NERF_SHA256 else "sha256 MISMATCH"
                         ) if name == TINY_NERF_FILE else "no reference"
            rows.append({"name": name.removesuffix(".npz"), "path": path,
                         "bytes": path.stat().st_size if path.is_file() else 0, "checksum": state})
    return rows
