"""CIFAR-style VGG16 and ResNet18 with a width multiplier.

Both take [0, 1] images; normalisation is part of the model (see :mod:`neuralens.models.registry`), so a
checkpoint carries it and nobody can feed un-normalised data by mistake.
"""

from __future__ import annotations

import torch
from torch import nn

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


class BasicBlock(nn.Module):
    """Two 3x3 convs plus the shortcut: out = relu(F(x) + shortcut(x)); ``shortcut=False`` drops the skip."""

    def __init__(self, in_ch: int, out_ch: int, stride: int = 1, shortcut: bool = True) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_ch)
        self.conv2 = nn.Conv2d(out_ch, out_ch, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_ch)
        self.use_shortcut = shortcut
        self.shortcut: nn.Module = nn.Identity()
        if shortcut and (stride != 1 or in_ch != out_ch):
            self.shortcut = nn.Sequential(nn.Conv2d(in_ch, out_ch, 1, stride, bias=False), nn.BatchNorm2d(out_ch))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.use_shortcut:
            out = out + self.shortcut(x)
        return torch.relu(out)


class ResNet(nn.Module):
    """ResNet18 for CIFAR (32x32; any size works): 3x3 stem, no max-pool, four stages of two BasicBlocks."""

    def __init__(self, num_classes: int = 10, width: float = 1.0, blocks: tuple[int, ...] = (2, 2, 2, 2),
                 shortcut: bool = True) -> None:
        super().__init__()
        widths = [_ch(c, width) for c in (64, 128, 256, 512)]
        self.conv1 = nn.Conv2d(3, widths[0], 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        stages = []
        in_ch = widths[0]
        for i, (w, n) in enumerate(zip(widths, blocks)):
            layer = []
            for j in range(n):
                layer.append(BasicBlock(in_ch, w, 2 if (i > 0 and j == 0) else 1, shortcut))
                in_ch = w
            stages.append(nn.Sequential(*layer))
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.fc = nn.Linear(in_ch, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.bn1(self.conv1(x)))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))


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
    return ResNet(num_classes, width, shortcut=False, **kw)
