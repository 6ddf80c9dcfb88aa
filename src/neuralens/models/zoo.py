"""The classifier catalogue: every registry name, where its builder lives and what it is, readable without torch.

Adding a model is a builder ``fn(num_classes, width, **kw) -> nn.Module`` and one line here. Builders are
imported on first use (``MODELS.get``), so the command line can check ``--model`` names, suggest the closest
ones and list them in ``--help`` before torch is loaded. Python code may also register its own builders with
:func:`neuralens.models.registry.register_model`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from neuralens.core.registry import Registry

MODELS: Registry[Callable[..., Any]] = Registry("model")
MODELS.register_lazy("vgg16", "neuralens.models.cifar_nets:vgg16", doc="VGG16 for CIFAR, no batch norm")
MODELS.register_lazy("vgg16_bn", "neuralens.models.cifar_nets:vgg16_bn", doc="VGG16 with batch norm")
MODELS.register_lazy("vgg16_bn_bias", "neuralens.models.cifar_nets:vgg16_bn_bias",
                     doc="VGG16-BN with conv biases (kuangliu/pytorch-cifar's layout)")
MODELS.register_lazy("resnet18", "neuralens.models.cifar_nets:resnet18", doc="ResNet18 for CIFAR")
MODELS.register_lazy("plain18", "neuralens.models.cifar_nets:plain18", doc="ResNet18 without shortcuts")
MODELS.register_family("resnet", "neuralens.models.cifar_nets:cifar_resnet", "6n+2 (8, 20, 56, 110, ...)",
                       lambda d: d >= 8 and (d - 2) % 6 == 0,
                       doc="He et al.'s CIFAR ResNet of depth N = 6n+2: 16/32/64 filters, option A shortcuts")
MODELS.register_family("plain", "neuralens.models.cifar_nets:cifar_plain", "6n+2 (8, 20, 56, 110, ...)",
                       lambda d: d >= 8 and (d - 2) % 6 == 0,
                       doc="resnetN without its shortcuts (same parameters): He et al.'s plain net")
MODELS.register_lazy("small_cnn", "neuralens.models.small_cnn:small_cnn", doc="the DCN experiment's plain net")
MODELS.register_lazy("small_dcn", "neuralens.models.small_cnn:small_dcn", doc="the DCN experiment's deformable net")
for _tv in ("vgg16", "vgg16_bn", "resnet18"):
    MODELS.register_lazy(f"tv_{_tv}", f"neuralens.models.registry:tv_{_tv}", imagenet_input=True,
                         doc=f"torchvision's ImageNet {_tv} (224x224 input, ImageNet normalisation)")


def list_models() -> list[str]:
    return sorted(MODELS.names())


def is_imagenet_input(name: str) -> bool:
    """Registry nets built for 224x224 ImageNet input (torchvision's), normalised with ImageNet statistics."""
    return name in MODELS and bool(MODELS.info(name).get("imagenet_input"))


def check_model_name(name: str) -> None:
    """Fail early, before any output is written, on a model name the registry does not know."""
    if not name.startswith("hub:"):
        MODELS.check(name)
