"""Image-classification data held in memory as uint8 tensors, augmented a batch at a time.

Sources (the ``spec`` of :func:`load_image_data`):

* ``"cifar10"``: CIFAR-10 in the data home's ``cifar10/`` (torchvision's ``cifar-10-batches-py`` or
  ``*_train.npz``/``*_test.npz``; ``download=True`` fetches it there first);
* ``"synthetic"``: the procedural 10-class set from :mod:`neuralens.data.synthetic`;
* ``"auto"``: CIFAR-10 from the data home (or ``data_root``) if it is there,
  otherwise the synthetic set, announced with one line;
* a path: an ``.npz`` file with ``x`` (N,32,32,3 uint8) and ``y`` (N,) (split 5:1 into train/test with a fixed
  seed unless it also has ``x_test``/``y_test``), a folder with ``*_train.npz`` and ``*_test.npz`` of that form,
  or an ImageFolder directory (``train/`` and ``test/`` sub-folders of class folders, or class folders directly).

Keeping the whole set as one uint8 tensor and augmenting on tensors keeps the data pipeline far below the cost
of a training step on a 2-core CPU (see BENCHMARKS.md).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from torchvision.datasets import CIFAR10, ImageFolder

from neuralens.core.errors import NeuralensError
from neuralens.core.io import log, read_npz
from neuralens.data.constants import CIFAR10_CLASSES
from neuralens.data.home import CIFAR10_FOLDER, cifar_root, fetch_cifar10, has_cifar
from neuralens.data.synthetic import SYNTHETIC_CLASSES, make_synthetic_arrays


@dataclass
class ImageData:
    """Train and test images as uint8 NCHW tensors with int64 labels."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    classes: list[str]
    source: str

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def is_synthetic(self) -> bool:
        """The generated stand-in set (procedural shapes), not real images."""
        return self.source.startswith("synthetic")

    def subset(self, n_train: int | None = None, n_test: int | None = None) -> ImageData:
        """First ``n`` images of each split (the stored order is already shuffled)."""
        return ImageData(
            self.x_train[:n_train], self.y_train[:n_train], self.x_test[:n_test], self.y_test[:n_test],
            self.classes, self.source,
        )


def _to_tensor(x: np.ndarray, y: np.ndarray, where: str, num_classes: int | None = None) -> tuple[torch.Tensor, ...]:
    if x.ndim != 4 or x.shape[-1] != 3:
        raise NeuralensError(f"{where}: images must have shape (N, H, W, 3), got {tuple(x.shape)}")
    if x.dtype != np.uint8:
        raise NeuralensError(f"{where}: images must be uint8 in 0..255, got dtype {x.dtype}")
    y = np.asarray(y).reshape(-1)
    if y.shape[0] != x.shape[0]:
        raise NeuralensError(f"{where}: {x.shape[0]} images but {y.shape[0]} labels")
    if not np.issubdtype(y.dtype, np.integer):
        raise NeuralensError(f"{where}: labels must be integers, got dtype {y.dtype}")
    if y.size and (y.min() < 0 or (num_classes is not None and y.max() >= num_classes)):
        allowed = f"0..{num_classes - 1}" if num_classes is not None else "0 or above"
        raise NeuralensError(f"{where}: labels must lie in {allowed}, got {y.min()}..{y.max()}")
    xt = torch.from_numpy(np.ascontiguousarray(x)).permute(0, 3, 1, 2).contiguous()
    return xt, torch.from_numpy(y.astype(np.int64))


#: without a ``classes`` array the class count is inferred from the largest label, up to this many
MAX_INFERRED_CLASSES = 1000


def _classes_from(arrays: dict[str, np.ndarray], n: int, where: Path) -> list[str]:
    """Class names from the file's ``classes`` array, else inferred from the largest label (CIFAR names up to 10)."""
    if "classes" in arrays:
        return [str(c) for c in np.asarray(arrays["classes"]).reshape(-1).tolist()]
    if n > MAX_INFERRED_CLASSES:
        raise NeuralensError(f"{where}: labels go up to {n - 1} but there is no classes array; give one (at most "
                             f"{MAX_INFERRED_CLASSES} classes are inferred from labels)")
    return CIFAR10_CLASSES[:n] if n <= 10 else [str(i) for i in range(n)]


def _need(arrays: dict[str, np.ndarray], keys: tuple[str, ...], path: Path) -> None:
    missing = [k for k in keys if k not in arrays]
    if missing:
        raise NeuralensError(f"{path}: missing array(s) {', '.join(missing)}; expected x (N,32,32,3 uint8) and y")


def _from_npz_file(path: Path) -> ImageData:
    arr = read_npz(path)
    if "x_test" in arr:
        _need(arr, ("x_train", "y_train", "x_test", "y_test"), path)
        xs, ys, xt, yt = arr["x_train"], arr["y_train"], arr["x_test"], arr["y_test"]
    else:
        _need(arr, ("x", "y"), path)
        _, y = _to_tensor(arr["x"], arr["y"], str(path))  # validate before splitting
        xs, ys, xt, yt = _split(arr["x"], y.numpy())
    classes = _classes_from(arr, int(max(np.max(ys, initial=0), np.max(yt, initial=0))) + 1, path)
    return ImageData(*_to_tensor(xs, ys, str(path), len(classes)), *_to_tensor(xt, yt, str(path), len(classes)),
                     classes, f"npz file {path}")


def _split(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, ...]:
    """Deterministic 5:1 train/test split for sources that come as one set."""
    perm = np.random.default_rng(0).permutation(len(x))
    cut = len(perm) - max(1, len(perm) // 6)
    return x[perm[:cut]], y[perm[:cut]], x[perm[cut:]], y[perm[cut:]]


def _from_npz_folder(folder: Path) -> ImageData:
    train = sorted(folder.glob("*_train.npz"))
    test = sorted(folder.glob("*_test.npz"))
    if len(train) != 1 or len(test) != 1:
        raise NeuralensError(f"{folder}: expected exactly one *_train.npz and one *_test.npz")
    a, b = read_npz(train[0]), read_npz(test[0])
    _need(a, ("x", "y"), train[0])
    _need(b, ("x", "y"), test[0])
    _to_tensor(a["x"], a["y"], str(train[0]))  # shapes and label range first
    classes = _classes_from(a, int(np.max(a["y"], initial=0)) + 1, train[0])
    return ImageData(*_to_tensor(a["x"], a["y"], str(train[0]), len(classes)),
                     *_to_tensor(b["x"], b["y"], str(test[0]), len(classes)), classes, f"npz folder {folder}")


def _image_folder_arrays(folder: Path, classes: list[str] | None = None) -> tuple[np.ndarray, np.ndarray, list[str]]:

    try:
        ds = ImageFolder(str(folder))
    except (FileNotFoundError, RuntimeError) as exc:
        raise NeuralensError(f"{folder}: not an ImageFolder directory ({exc})") from None
    if classes is not None and ds.classes != classes:
        raise NeuralensError(f"{folder}: class folders {ds.classes} differ from the train split's {classes}")
    xs = np.empty((len(ds.samples), 32, 32, 3), dtype=np.uint8)
    for i, (p, _) in enumerate(ds.samples):
        try:
            with Image.open(p) as im:
                xs[i] = np.asarray(im.convert("RGB").resize((32, 32), Image.BILINEAR))
        except (UnidentifiedImageError, OSError) as exc:
            raise NeuralensError(f"{p}: cannot read image ({exc})") from None
    return xs, np.array(ds.targets, dtype=np.int64), ds.classes


def _from_image_folder(folder: Path) -> ImageData:
    if (folder / "train").is_dir() and (folder / "test").is_dir():
        xs, ys, classes = _image_folder_arrays(folder / "train")
        xt, yt, _ = _image_folder_arrays(folder / "test", classes)
    else:
        x, y, classes = _image_folder_arrays(folder)
        xs, ys, xt, yt = _split(x, y)
    return ImageData(*_to_tensor(xs, ys, str(folder), len(classes)), *_to_tensor(xt, yt, str(folder), len(classes)),
                     classes, f"image folder {folder}")


def _from_torchvision(root: Path) -> ImageData:
    """torchvision's ``CIFAR10`` folder (its own integrity checks), already on disk."""
    try:
        train = CIFAR10(str(root), train=True, download=False)
        test = CIFAR10(str(root), train=False, download=False)
    except RuntimeError as exc:
        raise NeuralensError(f"CIFAR-10 not found under {root}/cifar-10-batches-py ({exc}); run `neuralens data "
                             "fetch cifar10` (needs a network) or give --data PATH") from None
    return ImageData(*_to_tensor(train.data, np.array(train.targets), str(root), 10),
                     *_to_tensor(test.data, np.array(test.targets), str(root), 10),
                     list(train.classes), f"torchvision CIFAR10 at {root}")


def make_synthetic(n_train: int = 10000, n_test: int = 2000, seed: int = 0) -> ImageData:
    """The procedural dataset; train and test come from disjoint seeds."""
    xs, ys = make_synthetic_arrays(n_train, seed=seed * 2 + 1)
    xt, yt = make_synthetic_arrays(n_test, seed=seed * 2 + 2)
    return ImageData(*_to_tensor(xs, ys, "synthetic", 10), *_to_tensor(xt, yt, "synthetic", 10),
                     list(SYNTHETIC_CLASSES), "synthetic (procedural shapes, generated offline)")


def load_image_data(
    spec: str = "auto",
    data_root: str | Path | None = None,
    download: bool = False,
    synthetic_size: tuple[int, int] = (10000, 2000),
    seed: int = 0,
    log: Callable[[str], None] = print,
) -> ImageData:
    """Load a dataset by ``spec`` (see the module docstring); unknown or broken sources raise ``NeuralensError``.

    ``data_root`` is the data home (CIFAR-10 under its ``cifar10/``) or a CIFAR-10 folder; None means the data
    home of ``$NEURALENS_DATA``. ``download`` fetches CIFAR-10 into the data home first.
    """
    if download and spec in ("auto", "cifar10"):
        fetch_cifar10(data_root)
    root = cifar_root(data_root)
    if spec == "auto":
        if has_cifar(root):
            return load_image_data("cifar10", root, log=log)
        log(f"data: no CIFAR-10 under {root} (neuralens data fetch cifar10, or --data-root/--data); "
            "using generated stand-in data (synthetic shapes)")
        spec = "synthetic"
    if spec == "synthetic":
        return make_synthetic(*synthetic_size, seed=seed)
    if spec == "cifar10":
        if not (root / CIFAR10_FOLDER).is_dir() and root.is_dir() and any(root.glob("*_train.npz")):
            return _from_npz_folder(root)
        return _from_torchvision(root)
    path = Path(spec)
    if path.is_file():
        if path.suffix != ".npz":
            raise NeuralensError(f"{path}: unsupported file type; give an .npz with x and y, or a folder")
        return _from_npz_file(path)
    if path.is_dir():
        if any(path.glob("*_train.npz")):
            return _from_npz_folder(path)
        if (path / CIFAR10_FOLDER).is_dir():
            return _from_torchvision(path)
        return _from_image_folder(path)
    raise NeuralensError(f"--data {spec!r}: no such file or folder (use auto, cifar10, synthetic or a path)")


def augment_batch(x: torch.Tensor, generator: torch.Generator | None = None, pad: int = 4) -> torch.Tensor:
    """Random crop (zero padding ``pad``) and horizontal flip of a uint8 NCHW batch, done with one gather.

    Returns float32 in [0, 1], same shape as ``x``.
    """
    n, _, h, w = x.shape
    padded = torch.nn.functional.pad(x, (pad, pad, pad, pad))
    oy = torch.randint(0, 2 * pad + 1, (n, 1), generator=generator)
    ox = torch.randint(0, 2 * pad + 1, (n, 1), generator=generator)
    flip = torch.rand(n, 1, generator=generator) < 0.5
    ar_h, ar_w = torch.arange(h), torch.arange(w)
    rows = oy + ar_h
    cols = ox + torch.where(flip, ar_w.flip(0), ar_w)
    batch = torch.arange(n)[:, None, None]
    out = padded.permute(0, 2, 3, 1)[batch, rows[:, :, None], cols[:, None, :]]  # (N, H, W, C)
    return out.permute(0, 3, 1, 2).float().div_(255.0)


def to_float(x: torch.Tensor) -> torch.Tensor:
    """uint8 NCHW -> float32 in [0, 1] (evaluation path, no augmentation)."""
    return x.float().div_(255.0)


def load_data_from_args(args: argparse.Namespace, spec: str | None = None) -> ImageData:
    """The images ``args`` ask for (``spec`` overrides ``--data``), cut to the requested sizes; says which data."""
    data = load_image_data(spec or args.data, args.data_root, download=args.download,
                           synthetic_size=(args.train_size or 10000, args.test_size or 2000),
                           seed=getattr(args, "seed", 0), log=log)
    data = data.subset(args.train_size, args.test_size)
    log(f"data: {data.source}: {len(data.x_train)} train / {len(data.x_test)} test images, classes "
        f"{', '.join(data.classes)}")
    return data
