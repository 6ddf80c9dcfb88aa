"""CIFAR-style VGG16, ResNet18 and He et al.'s 6n+2-layer CIFAR ResNets, with a width multiplier.

Both take [0, 1] images; normalisation is part of the model (see :mod:`neuralens.models.registry`), so a
checkpoint carries it and nobody can feed un-normalised data by mistake.
"""

from __future__ import annotations

import torch
from torch import nn

from neuralens.core.errors import NeuralensError

VGG16_CFG: list[int | str] = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]


def _ch(c: int, width: float) -> int:
    return max(4, round(c * width))


class VGG(nn.Module):
    """VGG16 for CIFAR: 13 3x3 convs in five stages, then one linear classifier on the pooled map.

    Built for 32x32 inputs (the map is 1x1 after five pools); pools round up and the map is averaged before the
    classifier, so other sizes (8x8, 64x64) work too and 32x32 results are unchanged.
    """

    def __init__(self, num_classes: int = 10, width: float = 1.0, batch_norm: bool = False,
                 cfg: list[int | str] | None = None, conv_bias: bool | None = None) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        in_ch = 3
        for v in cfg or VGG16_CFG:
            if v == "M":
                layers.append(nn.MaxPool2d(2, ceil_mode=True))
                continue
            out = _ch(int(v), width)
            layers.append(nn.Conv2d(in_ch, out, 3, padding=1, bias=not batch_norm if conv_bias is None else conv_bias))
            if batch_norm:
                layers.append(nn.BatchNorm2d(out))
            layers.append(nn.ReLU(inplace=True))
            in_ch = out
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(in_ch, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(nn.functional.adaptive_avg_pool2d(self.features(x), 1), 1))


class ShortcutA(nn.Module):
    """He et al.'s option A shortcut: subsample by the stride, zero-pad the new channels (half on each side, as
    the reference CIFAR code does); no parameters, so a ResNet and its plain twin have the same ones."""

    def __init__(self, in_ch: int, out_ch: int, stride: int) -> None:
        super().__init__()
        self.stride, self.pad = stride, out_ch - in_ch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x[:, :, ::self.stride, ::self.stride]
        return nn.functional.pad(x, (0, 0, 0, 0, self.pad // 2, self.pad - self.pad // 2))


#: what joins a block's input to its output: "B" projects (1x1 conv + BN) where the shape changes (ResNet18),
#: "A" subsamples and zero-pads (He et al.'s CIFAR nets), None drops the shortcut (the plain twins)
SHORTCUTS = ("A", "B", None)


class BasicBlock(nn.Module):
    """Two 3x3 convs plus the shortcut: out = relu(F(x) + shortcut(x)); ``shortcut=None`` drops the skip."""

    def __init__(self, in_ch: int, out_ch: int, stride: int = 1, shortcut: str | None = "B") -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_ch)
        self.conv2 = nn.Conv2d(out_ch, out_ch, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_ch)
        self.use_shortcut = shortcut is not None
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_ch != out_ch:
            if shortcut == "B":
                self.shortcut = nn.Sequential(nn.Conv2d(in_ch, out_ch, 1, stride, bias=False), nn.BatchNorm2d(out_ch))
            elif shortcut == "A":
                self.shortcut = ShortcutA(in_ch, out_ch, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.use_shortcut:
            out = out + self.shortcut(x)
        return torch.relu(out)


class ResNet(nn.Module):
    """ResNet for CIFAR (32x32; any size works): 3x3 stem, no max-pool, one stage of BasicBlocks per width
    (``layer1``, ``layer2``, ...; each later stage halves the map), global average pool, one linear layer.

    The defaults are ResNet18 (64..512 filters, projection shortcuts); He et al.'s CIFAR nets are
    ``widths=(16, 32, 64)``, ``blocks=(n, n, n)``, ``shortcut="A"`` (see :func:`cifar_resnet`).
    """

    def __init__(self, num_classes: int = 10, width: float = 1.0, blocks: tuple[int, ...] = (2, 2, 2, 2),
                 shortcut: str | None = "B", widths: tuple[int, ...] = (64, 128, 256, 512)) -> None:
        super().__init__()
        chans = [_ch(c, width) for c in widths]
        self.conv1 = nn.Conv2d(3, chans[0], 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(chans[0])
        self.stages: list[str] = []
        in_ch = chans[0]
        for i, (w, n) in enumerate(zip(chans, blocks)):
            layer = []
            for j in range(n):
                layer.append(BasicBlock(in_ch, w, 2 if (i > 0 and j == 0) else 1, shortcut))
                in_ch = w
            self.stages.append(f"layer{i + 1}")
            setattr(self, self.stages[-1], nn.Sequential(*layer))
        self.fc = nn.Linear(in_ch, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.bn1(self.conv1(x)))
        for name in self.stages:
            x = getattr(self, name)(x)
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))


def cifar_depth_blocks(depth: int) -> int:
    """Blocks per stage ``n`` of He et al.'s CIFAR net of ``depth`` = 6n + 2 weight layers (n >= 1)."""
    if depth < 8 or (depth - 2) % 6:
        raise NeuralensError(f"He et al.'s CIFAR nets have depth 6n+2 (8, 14, 20, 32, 44, 56, 110, ...), not {depth}")
    return (depth - 2) // 6


def cifar_resnet(num_classes: int, width: float, depth: int, shortcut: str | None = "A", **kw: object) -> ResNet:
    """He et al. 2016 section 4.2: 16/32/64 filters (times ``width``), n = (depth-2)/6 blocks per stage,
    option A shortcuts; ``shortcut=None`` is the plain twin with exactly the same parameters."""
    n = cifar_depth_blocks(depth)
    return ResNet(num_classes, width, blocks=(n, n, n), shortcut=shortcut, widths=(16, 32, 64), **kw)


def cifar_plain(num_classes: int, width: float, depth: int, **kw: object) -> ResNet:
    """The CIFAR ResNet of ``depth`` without its shortcuts (He et al.'s "plain" net)."""
    return cifar_resnet(num_classes, width, depth, shortcut=None, **kw)


def vgg16(num_classes: int, width: float, **kw: object) -> VGG:
    """VGG16 without batch norm (the net whose gradients fade with depth)."""
    return VGG(num_classes, width, batch_norm=False, **kw)


def vgg16_bn(num_classes: int, width: float, **kw: object) -> VGG:
    """VGG16 with batch norm after every conv."""
    return VGG(num_classes, width, batch_norm=True, **kw)


def vgg16_bn_bias(num_classes: int, width: float, **kw: object) -> VGG:
    """VGG16-BN whose convs keep their biases: the layout of kuangliu/pytorch-cifar's ``VGG('VGG16')``."""
    return VGG(num_classes, width, batch_norm=True, conv_bias=True, **kw)


def resnet18(num_classes: int, width: float, **kw: object) -> ResNet:
    """ResNet18 for CIFAR."""
    return ResNet(num_classes, width, **kw)


def plain18(num_classes: int, width: float, **kw: object) -> ResNet:
    """ResNet18 with every shortcut removed: the control for what the identity path does."""
    return ResNet(num_classes, width, shortcut=None, **kw)
