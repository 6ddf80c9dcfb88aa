"""Building the classifier a :class:`~neuralens.models.spec.ModelSpec` names, with its weights and normalisation.

The spec, the weights' form and the width were checked by :mod:`neuralens.models.spec` (no torch); this module
imports the user's code, reads the weights and builds the model.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from typing import Any

import torch
from torch import nn

from neuralens.core.checkpoint import is_checkpoint, read_torch_file
from neuralens.core.errors import NeuralensError
from neuralens.models.cards import SHIPPED, card_normalization, check_classes, read_card
from neuralens.models.registry import attach_preprocess, create_model, load_hub
from neuralens.models.spec import ModelSpec, check_weights, parse_model_spec, parse_normalize, resolve_width
from neuralens.models.weights import adapt_keys, find_state_dict, load_weights
from neuralens.models.zoo import is_imagenet_input


def set_normalization(model: nn.Module, normalize: str) -> None:
    """Overwrite the mean/std a model built here normalises its input with (its ``preprocess`` buffers)."""
    mean, std = parse_normalize(normalize)
    model.preprocess.mean.copy_(torch.tensor(mean).view(1, -1, 1, 1))
    model.preprocess.std.copy_(torch.tensor(std).view(1, -1, 1, 1))


def _load_file_model(path: Path, name: str) -> nn.Module:
    """Import ``path`` as a module (its folder on sys.path meanwhile) and call ``name`` for the model."""
    folder = str(path.resolve().parent)
    module_name = f"neuralens_user_{re.sub(r'[^A-Za-z0-9_]', '_', path.stem)}"
    sys.path.insert(0, folder)
    try:
        loader = importlib.util.spec_from_file_location(module_name, path)
        if loader is None or loader.loader is None:
            raise NeuralensError(f"{path}: cannot be imported as a Python module")
        module = importlib.util.module_from_spec(loader)
        sys.modules[module_name] = module
        try:
            loader.loader.exec_module(module)
        except Exception as exc:  # the user's own code failed: say where, in one line
            raise NeuralensError(f"{path}: importing it failed ({exc.__class__.__name__}: {exc})") from None
        fn = getattr(module, name, None)
        if not callable(fn):
            raise NeuralensError(f"{path}: has no callable {name!r}")
        try:
            model = fn()
        except Exception as exc:
            raise NeuralensError(f"{path}:{name}() failed ({exc.__class__.__name__}: {exc})") from None
    finally:
        sys.path.remove(folder)
    if not isinstance(model, nn.Module):
        raise NeuralensError(f"{path}:{name}() returned {type(model).__name__}, not an nn.Module")
    return model


def _read_weights(weights: str | None) -> Any:
    """The content of a ``--weights`` file, or None for none and for the named sources."""
    return None if weights is None or weights in ("imagenet", SHIPPED) else read_torch_file(weights)


def _config_of(raw: Any, path: str | None) -> dict[str, Any] | None:
    """A neuralens checkpoint's architecture and config (width, classes); None for any other content."""
    if is_checkpoint(raw, path or "--weights"):
        return {"arch": raw.get("arch"), **(raw.get("config") or {})}
    return None


def checkpoint_config(weights: str | None) -> dict[str, Any] | None:
    """The config of a neuralens checkpoint given as ``--weights`` (its width and classes), else None."""
    return _config_of(_read_weights(weights), weights)


def infer_width(arch: str, raw: Any) -> float | None:
    """The width multiplier a foreign state_dict of registry net ``arch`` was saved at: its first conv's output
    channels over the width-1 net's (a full-size published ResNet18 loads at width 1 without ``--width``)."""
    state = find_state_dict(raw)
    if state is None or is_imagenet_input(arch):
        return None
    state = adapt_keys(state, set())
    full = create_model(arch, width=1.0).state_dict()
    for key, tensor in full.items():
        if tensor.ndim == 4 and key in state and state[key].ndim == 4:
            return state[key].shape[0] / tensor.shape[0]
    return None


def recorded_classes(weights: str | None, spec: ModelSpec | None = None) -> list[str] | None:
    """The class names a model's weights were trained on, where they are recorded (the shipped weights' card, a
    neuralens checkpoint); None for foreign files, ``imagenet`` and no weights."""
    if weights == SHIPPED and spec is not None:
        return list(read_card(spec.target)["classes"])
    saved = checkpoint_config(weights) if weights and weights != "imagenet" else None
    return list(saved["classes"]) if saved and saved.get("classes") else None


def build_model(spec: ModelSpec | str, num_classes: int = 10, width: float | None = None, weights: str | None = None,
                normalize: str | None = None, hub_pretrained: bool = True) -> nn.Module:
    """The classifier ``spec`` with ``weights`` and ``normalize`` (see :mod:`neuralens.models.spec`); [0, 1] input.

    ``width`` applies to registry nets (None: the shipped card's, a neuralens checkpoint's, else 0.25); a width
    that conflicts with the shipped weights' card or a neuralens checkpoint is refused. Without ``weights`` a hub
    model comes with its published weights unless ``hub_pretrained`` is False (the model at initialisation);
    every other spec is then at initialisation.

    The model records what was built in ``model.neuralens_spec`` (model, weights, normalize) for run configs.
    """
    spec = parse_model_spec(spec) if isinstance(spec, str) else spec
    check_weights(spec, weights, width, normalize)
    if weights == SHIPPED:
        card = read_card(spec.target)
        model = create_model(spec.target, pretrained=SHIPPED, width=width)
        model.neuralens_spec = {"model": spec.text, "weights": SHIPPED, "normalize": card_normalization(card, None)}
        return model
    norm = normalize or spec.default_normalize
    mean, std = parse_normalize(norm)
    raw = _read_weights(weights)  # read once: for a neuralens checkpoint's config, then for its weights
    if spec.kind == "registry":
        saved = _config_of(raw, weights)
        size = resolve_width(spec, weights, width) or 1.0
        if saved is None and raw is not None and width is None:
            size = infer_width(spec.target, raw) or size
        if saved is not None:  # our own checkpoint: its width and classes, and the architecture must match
            if saved.get("arch") != spec.target:
                raise NeuralensError(f"{weights}: checkpoint is for architecture {saved.get('arch')!r}, not "
                                     f"{spec.target!r}")
            have = float(saved.get("width", size))
            if width is not None and abs(width - have) > 1e-9:
                raise NeuralensError(f"--width {width:g} conflicts with {weights}, a width-{have:g} checkpoint; "
                                     "leave --width out (the checkpoint's width is used)")
            num_classes, size = int(saved.get("num_classes", num_classes)), have
        model = create_model(spec.target, num_classes=num_classes, width=size,
                             pretrained="imagenet" if weights == "imagenet" else None)
        if normalize is not None:
            set_normalization(model, normalize)
    else:
        net = (load_hub(spec.text, num_classes, pretrained=weights is None and hub_pretrained) if spec.kind == "hub"
               else _load_file_model(Path(spec.target), spec.entry))  # the user's callable decides its own head
        model = attach_preprocess(net, mean, std)
        model.neuralens_arch = spec.text
    if raw is not None:
        arch = spec.target if spec.kind == "registry" else spec.text
        load_weights(model, Path(weights), arch, keep_normalization=normalize is not None, raw=raw)
    model.neuralens_spec = {"model": spec.text, "weights": weights, "normalize": norm}
    return model


def check_model_data(spec: ModelSpec, weights: str | None, classes: list[str], source: str, synthetic: bool,
                     log: Any = print) -> None:
    """The model's recorded classes (shipped card, neuralens checkpoint) must be the data's: refused with both
    lists otherwise. Weights whose classes are not recorded (a foreign file, a hub model) studied on the generated
    stand-in data get a one-line warning, since they were surely trained on something else."""
    recorded = recorded_classes(weights, spec)
    check_classes(recorded, classes, f"{spec.text} ({weights})", source)
    if recorded is None and synthetic and (weights not in (None, "") or spec.kind == "hub"):
        log(f"warning: {spec.text} with {weights or 'hub weights'} was trained on its own classes, probably not "
            f"these generated shapes ({', '.join(classes)}); give --data (e.g. the data home's CIFAR-10)")
