"""DCN vs CNN on a task with geometric variation: same small network, plain or deformable 3x3 layers.

The data are the usual images (CIFAR-10 or the synthetic shapes) pushed through a random affine map
(scale 0.7-1.3, rotation +-15 degrees, shifts up to 15%) plus a smooth elastic displacement, drawn once per
image with a fixed seed, so both models see exactly the same warped images.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from neuralens.data.cifar import ImageData
from neuralens.deform.ops import DeformConv2d


class SmallCNN(nn.Module):
    """stem conv -> pool -> three 3x3 layers at 16x16 (plain or deformable) -> global pool -> linear."""

    def __init__(self, num_classes: int = 10, width: float = 1.0, deformable: bool = False,
                 modulated: bool = False) -> None:
        super().__init__()
        c = max(8, round(32 * width))
        self.stem = nn.Sequential(nn.Conv2d(3, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU(inplace=True),
                                  nn.MaxPool2d(2))
        layers: list[nn.Module] = []
        for _ in range(3):
            conv = (DeformConv2d(c, c, 3, padding=1, bias=False, modulated=modulated) if deformable
                    else nn.Conv2d(c, c, 3, padding=1, bias=False))
            layers += [conv, nn.BatchNorm2d(c), nn.ReLU(inplace=True)]
        self.body = nn.Sequential(*layers)
        self.fc = nn.Linear(c, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.body(self.stem(x))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))

    def deform_layers(self) -> list[DeformConv2d]:
        return [m for m in self.body if isinstance(m, DeformConv2d)]


def warp_images(x: Tensor, seed: int, strength: float = 1.0, batch: int = 1000) -> Tensor:
    """Random affine + elastic warp of uint8 NCHW images (deterministic per ``seed``); returns uint8."""
    g = torch.Generator().manual_seed(seed)
    out = torch.empty_like(x)
    for i in range(0, len(x), batch):
        xb = x[i:i + batch].float()
        n = len(xb)
        scale = 1.0 + strength * (torch.rand(n, generator=g) * 0.6 - 0.3)
        rot = strength * torch.deg2rad(torch.rand(n, generator=g) * 30 - 15)
        shift = strength * (torch.rand(n, 2, generator=g) * 0.3 - 0.15)
        cos, sin = torch.cos(rot) / scale, torch.sin(rot) / scale
        theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1)
        grid = F.affine_grid(theta, list(xb.shape), align_corners=False)
        coarse = torch.randn(n, 2, 4, 4, generator=g) * 0.08 * strength
        grid = grid + F.interpolate(coarse, size=xb.shape[-2:], mode="bicubic", align_corners=False).permute(0, 2, 3, 1)
        warped = F.grid_sample(xb, grid, mode="bilinear", padding_mode="border", align_corners=False)
        out[i:i + batch] = warped.round().clamp(0, 255).to(torch.uint8)
    return out


def warped_data(data: ImageData, seed: int = 0) -> ImageData:
    return ImageData(warp_images(data.x_train, seed * 2 + 11), data.y_train, warp_images(data.x_test, seed * 2 + 12),
                     data.y_test, data.classes, f"{data.source}, randomly warped (affine + elastic)")


def run_experiment(data: ImageData, out: Path, epochs: int = 3, width: float = 1.0, seed: int = 0,
                   batch_size: int = 128, lr: float = 0.05, log: Any = print) -> dict[str, Any]:
    """Train small_cnn and small_dcn with the same recipe and budget; return their histories and accuracies."""
    from neuralens.models.train import TrainConfig, train

    results: dict[str, Any] = {"data": data.source, "epochs": epochs, "width": width, "models": {}}
    for name in ("small_cnn", "small_dcn"):
        cfg = TrainConfig(model=name, width=width, epochs=epochs, batch_size=batch_size, lr=lr, seed=seed,
                          device="cpu", channels_last=False)
        t0 = time.perf_counter()
        metrics = train(cfg, data, out / name, log=log)
        from neuralens.models import create_model

        n_params = sum(p.numel() for p in create_model(name, num_classes=data.num_classes, width=width).parameters())
        results["models"][name] = {"accuracy": metrics["accuracy"], "loss": metrics["loss"],
                                   "seconds": time.perf_counter() - t0, "params": n_params,
                                   "history": metrics["history"]}
    return results


def plot_experiment(results: dict[str, Any], path: Path) -> Path:
    from neuralens.plotting import plt, save_figure

    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.6))
    for name, r in results["models"].items():
        ep = [h["epoch"] for h in r["history"]]
        a.plot(ep, [h["test_acc"] for h in r["history"]], "o-", label=f"{name} test")
        a.plot(ep, [h["train_acc"] for h in r["history"]], "--", alpha=0.6, label=f"{name} train")
        b.plot(ep, [h["test_loss"] for h in r["history"]], "o-", label=name)
    a.set_xlabel("epoch")
    a.set_ylabel("accuracy")
    a.legend(fontsize=8)
    b.set_xlabel("epoch")
    b.set_ylabel("test loss")
    b.legend(fontsize=8)
    fig.suptitle(f"plain vs deformable 3x3 layers on {results['data']}")
    return save_figure(fig, path)


def receptive_points(layers: list[DeformConv2d], y: float, x: float) -> list[Tensor]:
    """Sampling points of output pixel (y, x) of the last layer traced back through the stack.

    Entry k holds the 9**(k+1) points (…, 2) in the input grid of the last k+1 layers (all at one resolution,
    stride 1): each point's own offsets are read from the layer below by bilinear interpolation of its
    sampling-location field. Needs a forward pass first (``last_offset``).
    """
    pts = torch.tensor([[y, x]], dtype=torch.float32)
    traced = []
    for layer in reversed(layers):
        loc = layer.sampling_locations()[0, 0]  # (K, H, W, 2) for image 0, offset group 0
        k, h, w, _ = loc.shape
        field = loc.permute(0, 3, 1, 2).reshape(1, k * 2, h, w)  # sampling field as an image
        gx = pts[:, 1] / max(w - 1, 1) * 2 - 1
        gy = pts[:, 0] / max(h - 1, 1) * 2 - 1
        grid = torch.stack([gx, gy], -1).view(1, 1, -1, 2)
        sampled = F.grid_sample(field, grid, mode="bilinear", padding_mode="border", align_corners=True)
        pts = sampled.view(k, 2, -1).permute(2, 0, 1).reshape(-1, 2)  # (points * K, 2)
        traced.append(pts)
    return traced


def regular_points(n_layers: int, y: float, x: float, dilation: int = 1) -> Tensor:
    """Where a plain stack of 3x3 convs samples: every sum of n tap offsets (with repeats, as a set)."""
    offs = torch.tensor([(i, j) for i in (-1, 0, 1) for j in (-1, 0, 1)], dtype=torch.float32) * dilation
    pts = torch.tensor([[y, x]], dtype=torch.float32)
    for _ in range(n_layers):
        pts = (pts[:, None, :] + offs[None]).reshape(-1, 2)
    return pts


def offset_magnitude(layer: DeformConv2d) -> Tensor:
    """Mean |offset| (pixels) over taps at every output location of image 0: (H, W)."""
    off = layer.last_offset[0]
    k = off.shape[0] // 2
    return off.view(k, 2, *off.shape[-2:]).norm(dim=1).mean(0)
