"""Checkpoints with metadata, so a wrong file is recognised and named instead of failing deep in torch.

Layout (``format`` ``neuralens/1``)::

    {"format", "kind", "arch", "config": {num_classes, width, classes, normalisation, data, ...},
     "state_dict", "metrics", "train_state": {...optional: optimizer, scheduler, epoch, step...}}
"""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch
from torch import nn

from neuralens.errors import NeuralensError
from neuralens.io import torch_save

FORMAT = "neuralens/1"


def save_checkpoint(path: str | Path, model: nn.Module, kind: str, arch: str, config: dict[str, Any],
                    metrics: dict[str, Any] | None = None, train_state: dict[str, Any] | None = None) -> Path:
    """Write a checkpoint atomically."""
    return torch_save({
        "format": FORMAT, "kind": kind, "arch": arch, "config": config,
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "metrics": metrics or {}, "train_state": train_state or {},
    }, path)


def _read(p: Path) -> Any:
    """``torch.load`` on CPU with one-line errors for missing or unreadable files."""
    if not p.is_file():
        raise NeuralensError(f"{p}: checkpoint not found")
    try:
        return torch.load(p, map_location="cpu", weights_only=False)
    except (RuntimeError, pickle.UnpicklingError, EOFError, zipfile.BadZipFile, OSError, ValueError) as exc:
        raise NeuralensError(f"{p}: not a readable PyTorch checkpoint ({exc.__class__.__name__})") from None


def load_checkpoint(path: str | Path, kind: str | None = None) -> dict[str, Any]:
    """Read and validate a checkpoint; ``kind`` (e.g. ``classifier``, ``nerf``) must match when given."""
    p = Path(path)
    ckpt = _read(p)
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise NeuralensError(f"{p}: not a neuralens checkpoint (no 'format': '{FORMAT}' entry)")
    if kind is not None and ckpt.get("kind") != kind:
        raise NeuralensError(f"{p}: is a {ckpt.get('kind')!r} checkpoint, expected a {kind!r} checkpoint")
    return ckpt


def _load_state(model: nn.Module, state: dict[str, torch.Tensor], what: str, arch: str, file_arch: str) -> None:
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()
        detail = first[1].strip() if len(first) > 1 else first[0]
        if file_arch == arch:
            msg = f"{what}: weights do not fit architecture {arch!r} (different width or classes?)"
        else:
            msg = f"{what}: weights are for {file_arch} but the model is {arch!r}"
        raise NeuralensError(f"{msg} ({detail[:160]})") from None


def load_weights_into(model: nn.Module, path: Path, arch: str) -> None:
    """Load a neuralens checkpoint, or a bare state_dict, into ``model`` built as ``arch``."""
    raw = _read(path)
    if isinstance(raw, dict) and raw.get("format") == FORMAT:
        file_arch = raw.get("arch", "?")
        if file_arch != arch:
            raise NeuralensError(f"{path}: checkpoint is for architecture {file_arch!r}, not {arch!r}")
        _load_state(model, raw["state_dict"], str(path), arch, file_arch)
        return
    if isinstance(raw, dict) and raw and all(isinstance(v, torch.Tensor) for v in raw.values()):
        state = dict(raw)
        own = model.state_dict()
        for k in ("preprocess.mean", "preprocess.std"):  # bare state_dicts do not carry our normalisation
            state.setdefault(k, own[k])
        _load_state(model, state, str(path), arch, "a bare state_dict")
        return
    raise NeuralensError(f"{path}: neither a neuralens checkpoint nor a state_dict")


def load_classifier(path: str | Path, expected_arch: str | None = None) -> tuple[nn.Module, dict[str, Any]]:
    """A classifier checkpoint's model (and the checkpoint), refusing one of another architecture."""
    ckpt = load_checkpoint(path, kind="classifier")
    if expected_arch is not None and ckpt["arch"] != expected_arch:
        raise NeuralensError(f"{path}: checkpoint is {ckpt['arch']!r} but {expected_arch!r} is needed here")
    return model_from_checkpoint(ckpt, path), ckpt


def model_from_checkpoint(ckpt: dict[str, Any], path: str | Path = "checkpoint") -> nn.Module:
    """Rebuild the classifier stored in ``ckpt`` (see :func:`load_checkpoint`)."""
    from neuralens.models.registry import create_model

    cfg = ckpt.get("config", {})
    model = create_model(ckpt["arch"], num_classes=int(cfg.get("num_classes", 10)), width=float(cfg.get("width", 1.0)))
    _load_state(model, ckpt["state_dict"], str(path), ckpt["arch"], ckpt["arch"])
    return model
