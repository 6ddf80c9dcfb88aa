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
from torch import Tensor

from neuralens.data.cifar import ImageData
from neuralens.models import create_model
from neuralens.models.train import TrainConfig, train


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
                   batch_size: int = 128, lr: float = 0.05, log: Any = print, device: str = "cpu") -> dict[str, Any]:
    """Train small_cnn and small_dcn with the same recipe and budget; return their histories and accuracies."""
    results: dict[str, Any] = {"data": data.source, "epochs": epochs, "width": width, "models": {}}
    for name in ("small_cnn", "small_dcn"):
        cfg = TrainConfig(model=name, width=width, epochs=epochs, batch_size=batch_size, lr=lr, seed=seed,
                          device=device, channels_last=False)
        t0 = time.perf_counter()
        metrics = train(cfg, data, out / name, log=log)
        n_params = sum(p.numel() for p in create_model(name, num_classes=data.num_classes, width=width).parameters())
        results["models"][name] = {"accuracy": metrics["accuracy"], "loss": metrics["loss"],
                                   "seconds": time.perf_counter() - t0, "params": n_params,
                                   "history": metrics["history"]}
    return results
