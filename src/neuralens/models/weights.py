"""Putting weights into a built model: from a neuralens checkpoint or a bare state_dict, with one-line errors."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from neuralens.core.checkpoint import FORMAT, read_torch_file
from neuralens.core.errors import NeuralensError


def load_state(model: nn.Module, state: dict[str, torch.Tensor], what: str, arch: str, file_arch: str) -> None:
    """``load_state_dict(strict=True)`` whose failure is one line naming the file, both architectures and the
    first mismatching key, instead of torch's multi-line dump."""
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise NeuralensError(f"{what}: state_dict must map names to tensors")
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
    raw = read_torch_file(path)
    if isinstance(raw, dict) and raw.get("format") == FORMAT:
        file_arch = raw.get("arch", "?")
        if file_arch != arch:
            raise NeuralensError(f"{path}: checkpoint is for architecture {file_arch!r}, not {arch!r}")
        load_state(model, raw["state_dict"], str(path), arch, file_arch)
        return
    if isinstance(raw, dict) and raw and all(isinstance(v, torch.Tensor) for v in raw.values()):
        state = dict(raw)
        own = model.state_dict()
        for k in ("preprocess.mean", "preprocess.std"):  # bare state_dicts do not carry our normalisation
            state.setdefault(k, own[k])
        load_state(model, state, str(path), arch, "a bare state_dict")
        return
    raise NeuralensError(f"{path}: neither a neuralens checkpoint nor a state_dict")
