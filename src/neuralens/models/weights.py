"""Putting weights into a built model: the shipped safetensors, a neuralens checkpoint or a bare state_dict, with
one-line errors."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from neuralens.core.checkpoint import is_checkpoint, read_torch_file
from neuralens.core.errors import NeuralensError
from neuralens.core.io import atomic_path
from neuralens.models.cards import pretrained_dir, read_card


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


def find_state_dict(obj: Any, depth: int = 0) -> dict[str, torch.Tensor] | None:
    """The dict of tensors in a checkpoint: the object itself, or the largest such dict nested in it
    (``{'state_dict': ...}``, ``{'net': ...}``, ``{'model': ...}``, whatever the training code called it)."""
    if not isinstance(obj, dict) or depth > 4:
        return None
    if obj and all(isinstance(k, str) for k in obj) and all(isinstance(v, torch.Tensor) for v in obj.values()):
        return obj
    found = [d for v in obj.values() if (d := find_state_dict(v, depth + 1)) is not None]
    return max(found, key=len) if found else None


#: key renames that make public CIFAR codes' state_dicts fit our registry nets (kuangliu/pytorch-cifar: ``linear``)
RENAMES = (("linear.", "fc."),)


def adapt_keys(state: dict[str, torch.Tensor], wanted: set[str]) -> dict[str, torch.Tensor]:
    """Drop DataParallel's ``module.`` prefix and apply :data:`RENAMES` where the model wants the new name."""
    out = {k.removeprefix("module."): v for k, v in state.items()}
    for old, new in RENAMES:
        if any(k.startswith(old) for k in out) and not any(k.startswith(old) for k in wanted):
            out = {(new + k[len(old):] if k.startswith(old) else k): v for k, v in out.items()}
    return out


def mismatch(model: nn.Module, state: dict[str, torch.Tensor]) -> str:
    """One line: the first missing and unexpected keys and shape differences (empty if the state fits)."""
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    shapes = [f"{k} {tuple(state[k].shape)} vs {tuple(own[k].shape)}" for k in own
              if k in state and state[k].shape != own[k].shape]
    parts = []
    for what, items in (("missing", missing), ("unexpected", unexpected), ("shape", shapes)):
        if items:
            more = f" (+{len(items) - 3} more)" if len(items) > 3 else ""
            parts.append(f"{what} {', '.join(items[:3])}{more}")
    return "; ".join(parts)


def load_weights(model: nn.Module, path: Path, arch: str, keep_normalization: bool = False, raw: Any = None) -> None:
    """Load a neuralens checkpoint, a bare or a wrapped state_dict into ``model`` built as ``arch``.

    Normalisation buffers (``preprocess.*``) come from a neuralens checkpoint unless ``keep_normalization``;
    other files do not carry them, and the model's own are kept. ``raw``: the file's content when the caller has
    already read it (it is then not read again).
    """
    raw = read_torch_file(path) if raw is None else raw
    if is_checkpoint(raw, path):
        file_arch = raw.get("arch", "?")
        if file_arch != arch:
            raise NeuralensError(f"{path}: checkpoint is for architecture {file_arch!r}, not {arch!r}")
        state = raw["state_dict"]
    else:
        state = find_state_dict(raw)
        if state is None:
            raise NeuralensError(f"{path}: holds no dict of tensors (neither a checkpoint nor a state_dict)")
    own = model.state_dict()
    state = adapt_keys(state, set(own))
    for k in [k for k in own if k.startswith("preprocess.")]:
        if keep_normalization or k not in state:
            state[k] = own[k]
    for k in own:  # BatchNorm counters: absent from checkpoints of PyTorch < 0.4.1, unused in evaluation
        if k.endswith("num_batches_tracked") and k not in state:
            state[k] = own[k]
    problem = mismatch(model, state)
    if problem:
        hint = ""
        if arch == "vgg16_bn" and any(k.startswith("features.") and k.endswith(".bias") and k not in own
                                      for k in state):
            hint = " (these weights have conv biases: use --model vgg16_bn_bias)"
        raise NeuralensError(f"{path}: weights do not fit {arch!r}: {problem[:300]}{hint}")
    load_state(model, state, str(path), arch, arch)


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def read_safetensors(path: Path) -> dict[str, torch.Tensor]:
    """A safetensors file's tensors (no pickle, no code); a damaged file is one line."""
    try:
        return load_file(str(path), device="cpu")
    except (SafetensorError, OSError, ValueError) as exc:
        raise NeuralensError(f"{path}: not a readable safetensors file ({exc})") from None


def load_shipped(model: nn.Module, arch: str) -> dict[str, Any]:
    """Put neuralens' shipped ``arch`` weights into ``model`` (built at the card's width); return the card.

    The file's sha256 must match the card's, so a damaged installation is named instead of scoring oddly. Half
    precision tensors are widened to the model's float32 on load.
    """
    card = read_card(arch)
    path = pretrained_dir() / card["file"]
    if not path.is_file() or sha256_of(path) != card["sha256"]:
        raise NeuralensError(f"{path}: missing or not the file its model card describes (sha256); reinstall neuralens")
    load_state(model, read_safetensors(path), str(path), arch, arch)
    return card


def save_half(model: nn.Module, path: Path) -> Path:
    """Write ``model``'s state as safetensors with conv/linear weights in half precision and everything else as it
    is (BN statistics and the normalisation buffers stay float32: they are small and exactness matters there).
    The shipped weights and training snapshots use it."""
    state = {}
    for k, v in model.state_dict().items():
        v = v.detach().cpu()
        halve = v.is_floating_point() and v.ndim > 1 and k.endswith(".weight") and not k.startswith("preprocess.")
        state[k] = (v.half() if halve else v).contiguous()
    with atomic_path(path) as tmp:
        save_file(state, str(tmp), metadata={"format": "neuralens-shipped/1"})
    return path
