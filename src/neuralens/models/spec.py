"""One model spec for every command that studies a classifier, and the weights that go with it.

``--model SPEC``:

* a registry name (``resnet18``, ``vgg16_bn``, ``tv_resnet18``, ...; see ``list_models()``);
* ``hub:OWNER/REPO:ENTRY`` or ``hub:DIR:ENTRY``: a torch.hub entry (with its pretrained weights unless
  ``--weights`` is given);
* ``FILE.py:CALLABLE``: a Python file from the user's own code and a callable in it returning the ``nn.Module``
  (``resnet.py:resnet20``); the file's folder is importable while it loads, so its own imports work.

``--weights``: ``imagenet`` (torchvision's ImageNet weights), a neuralens checkpoint, a bare ``state_dict`` or a
wrapped one (``{'state_dict': ...}``, ``{'net': ...}``, ... found by looking for the dict of tensors), with
DataParallel ``module.`` prefixes removed; always read with ``weights_only=True``.

``--normalize``: the mean/std the model was trained with: ``cifar``, ``imagenet``, ``none`` or ``R,G,B/R,G,B``;
by default ``imagenet`` for ``tv_*`` and ``cifar`` for everything else. Every model built here takes [0, 1]
images and normalises them itself (a ``preprocess`` child), so every study feeds all models the same way.
"""

from __future__ import annotations

import importlib.util
import math
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from neuralens.core.checkpoint import FORMAT, read_torch_file
from neuralens.core.errors import NeuralensError
from neuralens.data.cifar import CIFAR10_MEAN, CIFAR10_STD
from neuralens.models.registry import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    MODELS,
    attach_preprocess,
    create_model,
    is_imagenet_input,
    load_hub,
)
from neuralens.models.weights import load_weights

NORMALIZATIONS: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "cifar": (CIFAR10_MEAN, CIFAR10_STD),
    "imagenet": (IMAGENET_MEAN, IMAGENET_STD),
    "none": ((0.0, 0.0, 0.0), (1.0, 1.0, 1.0)),
}


def parse_normalize(text: str) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """``cifar`` | ``imagenet`` | ``none`` | ``R,G,B/R,G,B`` -> (mean, std)."""
    if text in NORMALIZATIONS:
        return NORMALIZATIONS[text]
    try:
        mean_text, std_text = text.split("/")
        mean = tuple(float(v) for v in mean_text.split(","))
        std = tuple(float(v) for v in std_text.split(","))
    except ValueError:
        raise NeuralensError(f"--normalize {text!r}: use cifar, imagenet, none or R,G,B/R,G,B (mean/std)") from None
    if len(mean) != 3 or len(std) != 3 or not all(s > 0 for s in std) or not all(map(math.isfinite, mean + std)):
        raise NeuralensError(f"--normalize {text!r}: need three means and three positive stds")
    return mean, std


def set_normalization(model: nn.Module, normalize: str) -> None:
    """Overwrite the mean/std a model built here normalises its input with (its ``preprocess`` buffers)."""
    mean, std = parse_normalize(normalize)
    model.preprocess.mean.copy_(torch.tensor(mean).view(1, -1, 1, 1))
    model.preprocess.std.copy_(torch.tensor(std).view(1, -1, 1, 1))


@dataclass(frozen=True)
class ModelSpec:
    """A parsed ``--model`` value."""

    text: str
    kind: str  # registry | hub | file
    target: str  # registry name, hub repo, or Python file
    entry: str = ""  # hub entry or callable name

    @property
    def slug(self) -> str:
        """A flat, file-name-safe name (``resnet.py:resnet20`` -> ``resnet.py_resnet20``)."""
        base = Path(self.target).name if self.kind == "file" else self.target
        raw = f"{base}_{self.entry}" if self.entry else base
        if self.kind == "hub":
            raw = f"hub_{Path(self.target).name if Path(self.target).is_dir() else self.target}_{self.entry}"
        return re.sub(r"[^A-Za-z0-9_.-]+", "_", raw).strip("_") or "model"

    @property
    def default_normalize(self) -> str:
        return "imagenet" if self.kind == "registry" and is_imagenet_input(self.target) else "cifar"


def parse_model_spec(text: str) -> ModelSpec:
    """Check a ``--model`` value's form (and that its file or registry name exists) before any work."""
    if text.startswith("hub:"):
        parts = text.split(":")
        if len(parts) != 3 or not parts[1] or not parts[2]:
            raise NeuralensError(f"--model {text!r}: a hub model is hub:OWNER/REPO:ENTRY or hub:DIR:ENTRY")
        return ModelSpec(text, "hub", parts[1], parts[2])
    if ".py:" in text:
        file, _, entry = text.rpartition(":")
        if not entry.isidentifier():
            raise NeuralensError(f"--model {text!r}: {entry!r} is not a Python name (FILE.py:CALLABLE)")
        if not Path(file).is_file():
            raise NeuralensError(f"--model {text!r}: no such file {file}")
        return ModelSpec(text, "file", file, entry)
    MODELS.get(text)
    return ModelSpec(text, "registry", text)


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
    """The content of a ``--weights`` file, or None for none and for ``imagenet``."""
    return None if weights is None or weights == "imagenet" else read_torch_file(weights)


def _config_of(raw: Any) -> dict[str, Any] | None:
    """A neuralens checkpoint's architecture and config (width, classes); None for any other content."""
    if isinstance(raw, dict) and raw.get("format") == FORMAT:
        return {"arch": raw.get("arch"), **(raw.get("config") or {})}
    return None


def checkpoint_config(weights: str | None) -> dict[str, Any] | None:
    """The config of a neuralens checkpoint given as ``--weights`` (its width and classes), else None."""
    return _config_of(_read_weights(weights))


def build_model(spec: ModelSpec | str, num_classes: int = 10, width: float = 1.0, weights: str | None = None,
                normalize: str | None = None, hub_pretrained: bool = True) -> nn.Module:
    """The classifier ``spec`` with ``weights`` and ``normalize`` (see the module docstring); [0, 1] input.

    Without ``weights`` a hub model comes with its published weights unless ``hub_pretrained`` is False
    (the model at initialisation); every other spec is then at initialisation.

    The model records what was built in ``model.neuralens_spec`` (model, weights, normalize) for run configs.
    """
    spec = parse_model_spec(spec) if isinstance(spec, str) else spec
    norm = normalize or spec.default_normalize
    mean, std = parse_normalize(norm)
    raw = _read_weights(weights)  # read once: for a neuralens checkpoint's config, then for its weights
    if spec.kind == "registry":
        saved = _config_of(raw)
        if saved is not None:  # our own checkpoint: its width and classes, and the architecture must match
            if saved.get("arch") != spec.target:
                raise NeuralensError(f"{weights}: checkpoint is for architecture {saved.get('arch')!r}, not "
                                     f"{spec.target!r}")
            num_classes, width = int(saved.get("num_classes", num_classes)), float(saved.get("width", width))
        model = create_model(spec.target, num_classes=num_classes, width=width,
                             pretrained="imagenet" if weights == "imagenet" else None)
        if normalize is not None:
            set_normalization(model, normalize)
    elif weights == "imagenet":
        raise NeuralensError(f"--weights imagenet needs a tv_* model, not {spec.text!r}")
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
