"""Classifier checkpoints: save a model in the one checkpoint format, and rebuild a model from one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from torch import nn

from neuralens.core.checkpoint import load_checkpoint
from neuralens.core.errors import NeuralensError
from neuralens.models.registry import create_model
from neuralens.models.weights import load_state


def load_classifier(path: str | Path, expected_arch: str | None = None) -> tuple[nn.Module, dict[str, Any]]:
    """A classifier checkpoint's model (and the checkpoint), refusing one of another architecture."""
    ckpt = load_checkpoint(path, kind="classifier")
    if expected_arch is not None and ckpt["arch"] != expected_arch:
        raise NeuralensError(f"{path}: checkpoint is {ckpt['arch']!r} but {expected_arch!r} is needed here")
    return model_from_checkpoint(ckpt, path), ckpt


def model_from_checkpoint(ckpt: dict[str, Any], path: str | Path = "checkpoint") -> nn.Module:
    """Rebuild the classifier stored in ``ckpt`` (see :func:`neuralens.core.checkpoint.load_checkpoint`)."""
    cfg = ckpt.get("config", {})
    try:
        num_classes, width = int(cfg.get("num_classes", 10)), float(cfg.get("width", 1.0))
    except (TypeError, ValueError):
        raise NeuralensError(f"{path}: config.num_classes / config.width are not numbers") from None
    if not (0 < num_classes <= 100_000 and 0 < width <= 8):
        raise NeuralensError(f"{path}: config has num_classes={num_classes}, width={width}; not a model we build")
    model = create_model(ckpt["arch"], num_classes=num_classes, width=width)
    load_state(model, ckpt["state_dict"], str(path), ckpt["arch"], ckpt["arch"])
    return model
