"""The small network of the DCN experiment: plain or deformable 3x3 layers, otherwise identical."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from neuralens.ops import DeformableConv2d


class SmallCNN(nn.Module):
    """stem conv -> pool -> three 3x3 layers at 16x16 (plain or deformable) -> global pool -> linear; with
    ``per_pixel`` a 1x1 conv instead of pool and linear gives (N, num_classes, 16, 16) logits, one per cell."""

    def __init__(self, num_classes: int = 10, width: float = 1.0, deformable: bool = False,
                 modulated: bool = False, per_pixel: bool = False) -> None:
        super().__init__()
        c = max(8, round(32 * width))
        self.stem = nn.Sequential(nn.Conv2d(3, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU(inplace=True),
                                  nn.MaxPool2d(2))
        layers: list[nn.Module] = []
        for _ in range(3):
            conv = (DeformableConv2d(c, c, 3, padding=1, bias=False, modulated=modulated) if deformable
                    else nn.Conv2d(c, c, 3, padding=1, bias=False))
            layers += [conv, nn.BatchNorm2d(c), nn.ReLU(inplace=True)]
        self.body = nn.Sequential(*layers)
        self.per_pixel = per_pixel
        self.fc = nn.Conv2d(c, num_classes, 1) if per_pixel else nn.Linear(c, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.body(self.stem(x))
        return self.fc(x) if self.per_pixel else self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))

    def deform_layers(self) -> list[DeformableConv2d]:
        return [m for m in self.body if isinstance(m, DeformableConv2d)]


def small_cnn(num_classes: int, width: float, **kw: object) -> SmallCNN:
    """The DCN experiment's control: three plain 3x3 layers at 16x16."""
    return SmallCNN(num_classes, width, deformable=False, **kw)


def small_dcn(num_classes: int, width: float, **kw: object) -> SmallCNN:
    """The same network with the three layers deformable (offsets zero-initialised)."""
    return SmallCNN(num_classes, width, deformable=True, **kw)
