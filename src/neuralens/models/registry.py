"""One registry for every classifier: ``create_model(name, num_classes, width, pretrained)``.

Every model returned takes images in [0, 1] (NCHW): a ``preprocess`` sub-module (resize + normalisation) runs
as a forward pre-hook, so parameter names stay those of the bare network (``features.0.weight``, ``fc.weight``)
while the normalisation travels with the weights in every checkpoint.

``pretrained`` may be ``None`` (random init), ``True`` or ``"neuralens"`` (the weights neuralens ships, see
:mod:`neuralens.models.cards`), ``"imagenet"`` (torchvision's ImageNet weights, 224x224 inputs,
new head), a path to a checkpoint ``.pt``, or ``"hub:REPO:ENTRY"`` where REPO is ``owner/name`` on GitHub or a
local directory holding a ``hubconf.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torchvision
from torch import nn

from neuralens.core.errors import NeuralensError
from neuralens.data.constants import CIFAR10_MEAN, CIFAR10_STD, IMAGENET_MEAN, IMAGENET_STD
from neuralens.models.cards import SHIPPED, card_width, read_card
from neuralens.models.weights import load_shipped, load_weights
from neuralens.models.zoo import MODELS, is_imagenet_input


class Preprocess(nn.Module):
    """Resize (optional) and normalise a [0, 1] batch; its buffers are saved with the model."""

    def __init__(self, mean: tuple[float, ...], std: tuple[float, ...], size: int | None = None) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std).view(1, -1, 1, 1))
        self.size = size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.size is not None and x.shape[-1] != self.size:
            x = nn.functional.interpolate(x, size=(self.size, self.size), mode="bilinear", align_corners=False)
        return (x - self.mean) / self.std


class _Wrapped(nn.Module):
    """Holds a ``nn.Sequential`` (whose children all run in order) next to, not inside, its preprocessing."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def attach_preprocess(model: nn.Module, mean: tuple[float, ...], std: tuple[float, ...],
                      size: int | None = None) -> nn.Module:
    """Give ``model`` a ``preprocess`` child that runs before its own forward."""
    if isinstance(model, nn.Sequential):
        model = _Wrapped(model)
    model.preprocess = Preprocess(mean, std, size)
    model.register_forward_pre_hook(lambda m, args: (m.preprocess(args[0]), *args[1:]))
    return model


Builder = Callable[..., nn.Module]


def register_model(name: str, imagenet_input: bool = False) -> Callable[[Builder], Builder]:
    """Decorator for Python users: add a builder ``fn(num_classes, width, **kw) -> nn.Module`` under ``name``
    (neuralens' own models are listed in :mod:`neuralens.models.zoo`)."""

    def deco(fn: Builder) -> Builder:
        MODELS.register(name, fn, imagenet_input=imagenet_input)
        return fn

    return deco


def _torchvision_builder(tv_name: str) -> Callable[..., nn.Module]:
    def build(num_classes: int, width: float, weights: Any = None, **kw: Any) -> nn.Module:
        if width != 1.0:
            raise NeuralensError(f"tv_{tv_name} is torchvision's ImageNet architecture; it has no width multiplier")
        net = getattr(torchvision.models, tv_name)(weights=weights, **kw)
        if hasattr(net, "fc"):
            net.fc = nn.Linear(net.fc.in_features, num_classes)
        else:
            net.classifier[-1] = nn.Linear(net.classifier[-1].in_features, num_classes)
        return net

    return build


tv_vgg16 = _torchvision_builder("vgg16")
tv_vgg16_bn = _torchvision_builder("vgg16_bn")
tv_resnet18 = _torchvision_builder("resnet18")


def _load_imagenet(name: str, num_classes: int) -> nn.Module:
    tv_name = name.removeprefix("tv_")
    weights = torchvision.models.get_model_weights(tv_name).DEFAULT
    try:
        return MODELS.get(f"tv_{tv_name}")(num_classes, 1.0, weights=weights)
    except (OSError, RuntimeError) as exc:
        raise NeuralensError(
            f"could not get torchvision ImageNet weights for {tv_name} ({exc.__class__.__name__}: {exc}); "
            "they download once into $TORCH_HOME/hub/checkpoints, which needs a network"
        ) from None


def load_hub(spec: str, num_classes: int, pretrained: bool = True) -> nn.Module:
    parts = spec.split(":")
    if len(parts) != 3 or not parts[1] or not parts[2]:
        raise NeuralensError(f"hub spec {spec!r} must look like hub:owner/repo:entry or hub:/local/dir:entry")
    _, repo, entry = parts
    source = "local" if Path(repo).is_dir() else "github"
    try:
        model = torch.hub.load(repo, entry, source=source, pretrained=pretrained, trust_repo=True)
    except (OSError, RuntimeError, ValueError, AttributeError, ImportError) as exc:
        reason = f"{exc.__class__.__name__}: {exc}"
        raise NeuralensError(f"torch.hub could not load {entry!r} from {repo!r} ({reason})") from None
    if not isinstance(model, nn.Module):
        raise NeuralensError(f"hub entry {entry!r} of {repo!r} returned {type(model).__name__}, not a model")
    return model


def create_model(name: str, num_classes: int | None = None, width: float | None = None,
                 pretrained: str | Path | bool | None = None, **kw: Any) -> nn.Module:
    """Build a registered classifier, optionally with weights (see module docstring). Takes [0,1] NCHW input.

    ``pretrained=True`` (or ``"neuralens"``) gives the weights neuralens ships for ``name``, at their card's width,
    classes and normalisation (``model.neuralens_card``); a conflicting ``width`` or ``num_classes`` is refused.
    Otherwise ``width`` defaults to 1.0 and ``num_classes`` to 10.
    """
    if pretrained is True or pretrained == SHIPPED:
        return _create_shipped(name, num_classes, width, **kw)
    num_classes = 10 if num_classes is None else num_classes
    width = 1.0 if width is None else width
    if pretrained is False:
        pretrained = None
    if pretrained is not None and str(pretrained).startswith("hub:"):
        model = attach_preprocess(load_hub(str(pretrained), num_classes), CIFAR10_MEAN, CIFAR10_STD)
        model.neuralens_arch = str(pretrained)
        return model
    if name.startswith("hub:"):
        model = attach_preprocess(load_hub(name, num_classes, pretrained=False), CIFAR10_MEAN, CIFAR10_STD)
        model.neuralens_arch = name
        return model
    if pretrained == "imagenet":
        base = name.removeprefix("tv_")
        if f"tv_{base}" not in MODELS:
            raise NeuralensError(f"no ImageNet weights for {name!r}; available: vgg16, vgg16_bn, resnet18")
        model = _load_imagenet(base, num_classes)
        name = f"tv_{base}"
    else:
        model = MODELS.get(name)(num_classes, width, **kw)
    if is_imagenet_input(name):
        model = attach_preprocess(model, IMAGENET_MEAN, IMAGENET_STD, size=224)
    else:
        model = attach_preprocess(model, CIFAR10_MEAN, CIFAR10_STD)
    model.neuralens_arch = name
    if pretrained is not None and pretrained != "imagenet":
        load_weights(model, Path(pretrained), name)
    return model


def _create_shipped(name: str, num_classes: int | None, width: float | None, **kw: Any) -> nn.Module:
    """``name`` with the weights neuralens ships, built as their card says."""
    card = read_card(name)
    if num_classes is not None and num_classes != card["num_classes"]:
        raise NeuralensError(f"the neuralens {name} weights predict {card['num_classes']} classes, not {num_classes}")
    model = create_model(name, card["num_classes"], card_width(card, width), **kw)
    load_shipped(model, name)
    model.neuralens_card = card
    return model
