"""The one checkpoint format, read without ever running code.

Layout (``format`` ``neuralens/SCHEMA``, the schema every JSON a run writes carries too)::

    {"format", "neuralens", "kind", "arch", "config": {...}, "state_dict", "metrics", "train_state": {...}, **extra}

A checkpoint of another schema is refused in one line (rerun it): no reader for our own older layouts.

Every file is read with ``torch.load(weights_only=True)``: a checkpoint holds tensors and plain data only, so a
``.pt`` whose pickle would call a function is refused before anything in it runs.
"""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError

from neuralens.core import VERSION
from neuralens.core.errors import NeuralensError
from neuralens.core.io import SCHEMA, atomic_path, schema_error

FORMAT = f"neuralens/{SCHEMA}"


def torch_save(obj: Any, path: str | Path) -> Path:
    """``torch.save`` through a temporary file, so Ctrl-C mid-write keeps the previous checkpoint."""
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)
    return Path(path)


_PLAIN = (type(None), bool, int, float, str, torch.Tensor, torch.dtype, torch.Size)


def check_plain(obj: Any, where: str = "checkpoint") -> None:
    """Refuse to write what :func:`read_torch_file` would refuse to read (a numpy scalar, a dataclass): the bug
    then shows where the file is written, not when a user loads it."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            check_plain(k, where)
            check_plain(v, f"{where}.{k}")
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            check_plain(v, f"{where}[{i}]")
    elif type(obj) not in _PLAIN and not isinstance(obj, torch.Tensor):
        raise TypeError(f"{where} is a {type(obj).__module__}.{type(obj).__name__}; a checkpoint holds tensors "
                        "and plain Python data only")


def save_checkpoint(path: str | Path, kind: str, arch: str, config: dict[str, Any], state_dict: dict[str, Any],
                    metrics: dict[str, Any] | None = None, train_state: dict[str, Any] | None = None,
                    **extra: Any) -> Path:
    """Write a checkpoint atomically (tensors moved to the CPU, so it loads anywhere)."""
    ckpt = {
        "format": FORMAT, "neuralens": VERSION, "kind": kind, "arch": arch, "config": config,
        "state_dict": {k: v.detach().cpu() for k, v in state_dict.items()},
        "metrics": metrics or {}, "train_state": train_state or {}, **extra,
    }
    check_plain(ckpt)
    return torch_save(ckpt, path)


def read_torch_file(path: str | Path) -> Any:
    """``torch.load(weights_only=True)`` on the CPU with one-line errors for missing, unreadable or unsafe files."""
    p = Path(path)
    if not p.is_file():
        raise NeuralensError(f"{p}: checkpoint not found")
    try:
        return torch.load(p, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if "GLOBAL" in str(exc):  # the pickle names a function or class to call: it would run code
            raise NeuralensError(f"{p}: holds Python objects beyond tensors and plain data, which could run code "
                                 "when loaded; refused (neuralens loads weights only)") from None
        raise NeuralensError(f"{p}: not a readable PyTorch checkpoint ({exc.__class__.__name__})") from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError, ValueError, AttributeError, SafetensorError) as exc:
        # (torch.load reads safetensors files itself, and a damaged one raises SafetensorError)
        raise NeuralensError(f"{p}: not a readable PyTorch checkpoint ({exc.__class__.__name__})") from None


def is_checkpoint(raw: Any, path: str | Path) -> bool:
    """Whether a loaded file is a neuralens checkpoint of this schema (else a foreign file: a state_dict, ...);
    one of another neuralens schema is refused in one line."""
    fmt = raw.get("format") if isinstance(raw, dict) else None
    if isinstance(fmt, str) and fmt.startswith("neuralens/") and fmt != FORMAT:
        raise schema_error(path, raw.get("neuralens"), fmt.removeprefix("neuralens/"))
    return fmt == FORMAT


def load_checkpoint(path: str | Path, kind: str | None = None) -> dict[str, Any]:
    """Read and validate a neuralens checkpoint; ``kind`` (``classifier``, ``nerf``) must match when given."""
    p = Path(path)
    ckpt = read_torch_file(p)
    if not is_checkpoint(ckpt, p):
        raise NeuralensError(f"{p}: not a neuralens checkpoint (no 'format': '{FORMAT}' entry)")
    if kind is not None and ckpt.get("kind") != kind:
        raise NeuralensError(f"{p}: is a {ckpt.get('kind')!r} checkpoint, expected a {kind!r} checkpoint")
    for key, typ in (("arch", str), ("config", dict), ("state_dict", dict)):
        if not isinstance(ckpt.get(key), typ):
            raise NeuralensError(f"{p}: checkpoint has no valid {key!r} entry")
    return ckpt
