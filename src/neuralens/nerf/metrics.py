"""Image quality: PSNR and SSIM (Wang et al. 2004: 11x11 Gaussian window, sigma 1.5, K1 0.01, K2 0.03)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def mse_to_psnr(mse: Tensor | float) -> Tensor:
    return -10.0 * torch.log10(torch.as_tensor(mse).clamp_min(1e-12))


def psnr(pred: Tensor, target: Tensor) -> float:
    """PSNR in dB for images in [0, 1] (any shape)."""
    return float(mse_to_psnr(F.mse_loss(pred.float(), target.float())))


def ssim(pred: Tensor, target: Tensor, window: int = 11, sigma: float = 1.5) -> float:
    """Mean SSIM of two (H, W, 3) images in [0, 1] (valid windows only, channels averaged).

    Images smaller than the window use the largest odd window that fits (e.g. 7x7 for a 8x8 image).
    """
    small = min(pred.shape[0], pred.shape[1])
    if small < window:
        window = small if small % 2 else small - 1
    x = pred.float().permute(2, 0, 1)[None]
    y = target.float().permute(2, 0, 1)[None]
    c = x.shape[1]
    coords = torch.arange(window, dtype=torch.float32) - (window - 1) / 2
    g = torch.exp(-(coords**2) / (2 * sigma**2))
    g = g / g.sum()
    kernel = (g[:, None] * g[None, :]).expand(c, 1, window, window).contiguous()

    def filt(z: Tensor) -> Tensor:
        return F.conv2d(z, kernel, groups=c)

    mu_x, mu_y = filt(x), filt(y)
    sxx = filt(x * x) - mu_x**2
    syy = filt(y * y) - mu_y**2
    sxy = filt(x * y) - mu_x * mu_y
    c1, c2 = 0.01**2, 0.03**2
    s = ((2 * mu_x * mu_y + c1) * (2 * sxy + c2)) / ((mu_x**2 + mu_y**2 + c1) * (sxx + syy + c2))
    return float(s.mean())


def blank_psnr(images: Tensor) -> dict[str, float]:
    """Mean PSNR of two renders that learned nothing, over ``images`` (N, H, W, 3): an all-black image, and each
    view's own mean colour everywhere. A trained NeRF has learned something only if it clearly beats both."""
    black = [psnr(torch.zeros_like(im), im) for im in images]
    flat = [psnr(im.float().mean(dim=(0, 1), keepdim=True).expand_as(im), im) for im in images]
    return {"black": sum(black) / len(black), "mean_colour": sum(flat) / len(flat),
            "best": max(sum(black) / len(black), sum(flat) / len(flat))}
