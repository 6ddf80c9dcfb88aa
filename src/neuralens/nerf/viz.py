"""NeRF figures: how samplers place points along rays, what rendering produces, and orbit videos."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import imageio.v2 as imageio
import numpy as np
import torch
from torch import Tensor

from neuralens.core.io import atomic_path
from neuralens.core.plotting import plt, save_figure
from neuralens.data.cameras import Camera
from neuralens.nerf.config import NerfConfig
from neuralens.nerf.metrics import psnr
from neuralens.nerf.model import NerfModel
from neuralens.nerf.renderer import FieldFn, RenderSettings
from neuralens.nerf.rendering import render_weight_from_density
from neuralens.nerf.sampling import importance_samples, midpoints, stratified_samples, uniform_samples


def _toy_density(t: Tensor) -> Tensor:
    """A surface-like density bump at depth 3.7-4.3 for sampler figures when no trained field is at hand."""
    return 30.0 * torch.exp(-(((t - 4.0) / 0.15) ** 2))


def plot_sampling(path: str | Path, near: float = 2.0, far: float = 6.0, n_rays: int = 7, n_samples: int = 12,
                  n_importance: int = 24, seed: int = 0, density: Any = None) -> Path:
    """Top: a camera with a fan of rays and their samples for uniform, stratified and hierarchical sampling.
    Bottom: one strip per ray showing the bins (grey ticks) and the sample depths.

    ``density(t) -> sigma`` drives the hierarchical panel (default: a bump at depth 4, like a surface).
    """
    density = density or _toy_density
    gen = torch.Generator().manual_seed(seed)
    angles = torch.linspace(-0.35, 0.35, n_rays)
    dirs = torch.stack([torch.sin(angles), torch.cos(angles)], -1)  # 2-D fan, camera at the origin
    t_uni = uniform_samples(near, far, n_samples, n_rays)
    t_str = stratified_samples(near, far, n_samples, n_rays, gen)
    sig = density(t_str)
    deltas = torch.cat([t_str[:, 1:] - t_str[:, :-1], torch.full_like(t_str[:, :1], 1e10)], -1)
    w, _, _ = render_weight_from_density(sig, deltas)
    t_imp = importance_samples(midpoints(t_str), w, n_importance, generator=gen)
    panels = [("uniform", t_uni), ("stratified", t_str), (f"hierarchical (+{n_importance} by weight)", t_imp)]
    fig, axes = plt.subplots(2, 3, figsize=(13, 7), gridspec_kw={"height_ratios": [2, 1]})
    edges = torch.linspace(near, far, n_samples + 1)
    for col, (title, t) in enumerate(panels):
        ax = axes[0, col]
        ax.plot(0, 0, "k^", ms=12, label="camera")
        for r in range(n_rays):
            end = dirs[r] * far * 1.05
            ax.plot([0, end[0]], [0, end[1]], color="0.8", lw=0.8, zorder=1)
            pts = dirs[r][None] * t[r][:, None]
            ax.scatter(pts[:, 0], pts[:, 1], s=10, zorder=2, color=f"C{col}")
            if col == 2:
                pts0 = dirs[r][None] * t_str[r][:, None]
                ax.scatter(pts0[:, 0], pts0[:, 1], s=6, color="0.5", zorder=2)
        arc = torch.linspace(-0.4, 0.4, 50)
        for depth, style in ((near, "--"), (far, "--"), (4.0, ":")):
            ax.plot(torch.sin(arc) * depth, torch.cos(arc) * depth, style, color="0.6", lw=0.8)
        ax.set_title(title)
        ax.set_aspect("equal")
        ax.set_xlabel("x")
        ax.set_ylabel("depth direction")
        strip = axes[1, col]
        for r in range(n_rays):
            strip.vlines(edges, r - 0.3, r + 0.3, color="0.8", lw=0.8)
            strip.scatter(t[r], torch.full_like(t[r], r), s=9, color=f"C{col}")
        strip.set_xlim(near - 0.1, far + 0.3)
        strip.set_xlabel("t along the ray")
        strip.set_ylabel("ray")
    axes[0, 0].legend(loc="upper left")
    fig.suptitle("Where samples fall: near/far dashed, the surface of the toy density dotted")
    return save_figure(fig, path)


@torch.no_grad()
def ray_profile(field: FieldFn, origin: Tensor, direction: Tensor, s: RenderSettings, n: int = 256
                ) -> dict[str, Tensor]:
    """sigma(t), T(t) and w(t) along one ray, densely sampled (for curves)."""
    t = torch.linspace(s.near, s.far, n)[None]
    pts = origin[None, None] + direction[None, None] * t[..., None]
    viewdirs = (direction / direction.norm()).expand_as(pts) if s.use_viewdirs else None
    sigma, _ = field(pts, viewdirs)
    deltas = torch.cat([t[:, 1:] - t[:, :-1], torch.full_like(t[:, :1], 1e10)], -1)
    w, trans, _ = render_weight_from_density(sigma, deltas)
    return {"t": t[0], "sigma": sigma[0], "transmittance": trans[0], "weights": w[0]}


def plot_rendering(model: NerfModel, camera: Camera, pose: Tensor, cfg: NerfConfig, path: str | Path,
                   pixels: list[tuple[int, int]] | None = None, target: Tensor | None = None) -> Path:
    """Rendered image, depth and opacity maps, and sigma/T/w along the rays of a few marked pixels.

    The curves use the model's (coarse) field densely sampled along each ray.
    """
    height, width = camera.height, camera.width
    model.train(False)
    out = model.render_image(camera, pose, cfg)
    field, s = model.coarse, cfg.render
    pixels = pixels or [(height // 2, width // 2), (height // 3, width // 4), (2 * height // 3, 3 * width // 4)]
    origins, dirs = camera.rays(pose, s.pixel_offset)
    n_top = 4 if target is not None else 3
    fig = plt.figure(figsize=(3.2 * n_top, 6.6))
    gs = fig.add_gridspec(2, n_top)
    panels = [("rendered", out["rgb"].clamp(0, 1).numpy(), None), ("depth", out["depth"].numpy(), "viridis"),
              ("opacity", out["opacity"].numpy(), "gray")]
    if target is not None:
        panels.insert(0, ("ground truth", target.numpy(), None))
    for k, (title, img, cmap) in enumerate(panels):
        ax = fig.add_subplot(gs[0, k])
        im = ax.imshow(img, cmap=cmap)
        if cmap:
            fig.colorbar(im, ax=ax, fraction=0.046)
        for m, (r, c) in enumerate(pixels):
            ax.plot(c, r, "o", mfc="none", mec=f"C{m}", ms=8, mew=2)
        ax.set_title(title)
        ax.axis("off")
    for k, name in enumerate(("sigma", "transmittance", "weights")):
        ax = fig.add_subplot(gs[1, k])
        for m, (r, c) in enumerate(pixels):
            prof = ray_profile(field, origins[r, c], dirs[r, c], s)
            ax.plot(prof["t"], prof[name], color=f"C{m}", label=f"pixel ({r}, {c})")
        ax.set_xlabel("t")
        ax.set_title({"sigma": "density sigma(t)", "transmittance": "transmittance T(t)",
                      "weights": "weight w(t) = T(t)(1 - exp(-sigma delta))"}[name])
    fig.axes[-1].legend()
    return save_figure(fig, path)


def _to_uint8(frames: np.ndarray) -> np.ndarray:
    return (np.clip(frames, 0, 1) * 255 + 0.5).astype(np.uint8)


def colorize_depth(depth: Tensor, near: float, far: float) -> np.ndarray:
    """(…, H, W) depths -> (…, H, W, 3) in [0, 1] with the viridis map (near bright)."""
    cmap = plt.get_cmap("viridis")
    d = ((far - depth.numpy()) / (far - near)).clip(0, 1)
    return cmap(d)[..., :3]


def write_video(frames: np.ndarray, path: str | Path, fps: int = 20) -> Path:
    """(T, H, W, 3) floats in [0, 1] -> GIF or MP4 (by suffix), written atomically."""
    dest = Path(path)
    data = _to_uint8(frames)
    with atomic_path(dest) as tmp:
        if dest.suffix == ".gif":
            imageio.mimsave(tmp, list(data), format="GIF", duration=1.0 / fps, loop=0)
        else:
            h, w = data.shape[1:3]
            pad_h, pad_w = (-h) % 16, (-w) % 16  # codecs want sizes divisible by 16
            if pad_h or pad_w:
                data = np.pad(data, ((0, 0), (0, pad_h), (0, pad_w), (0, 0)))
            with imageio.get_writer(tmp, format="FFMPEG", mode="I", fps=fps, codec="libx264",
                                    macro_block_size=1, quality=8) as writer:
                for f in data:
                    writer.append_data(f)
    return dest


def plot_renders(images: torch.Tensor, targets: torch.Tensor, path: Path, title: str, n: int = 4) -> Path:
    """Ground truth, render and absolute error for up to ``n`` views."""
    n = min(n, len(images))
    fig, axes = plt.subplots(3, n, figsize=(2.8 * n, 8.4), squeeze=False)
    for k in range(n):
        err = (images[k] - targets[k]).abs().mean(-1)
        for row, (img, name) in enumerate(((targets[k], "ground truth"), (images[k], "render"), (err, "|error|"))):
            ax = axes[row, k]
            ax.imshow(img.numpy(), cmap="magma" if row == 2 else None, vmin=0, vmax=1 if row < 2 else 0.5)
            ax.axis("off")
            ax.set_title(name if row != 1 else f"render, {psnr(images[k], targets[k]):.2f} dB", fontsize=9)
    fig.suptitle(title)
    return save_figure(fig, path)


#: the x-axis that makes any run's curve comparable to the tiny_nerf notebook's, whose iteration is one image
NOTEBOOK_AXIS = "images of rays trained (= tiny_nerf notebook iterations)"


def notebook_iterations(h: dict[str, float]) -> float:
    """A history entry's rays trained, in whole images (logs written before this was recorded: iterations)."""
    return h.get("images", h["iteration"])


def plot_psnr_curve(history: list[dict[str, float]], path: Path, title: str) -> Path:
    """PSNR on the probe view against training time and against images of rays trained (the tiny_nerf
    notebook's iterations), from ``psnr_log.json``'s history."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), sharey=True)
    psnrs = [h["psnr"] for h in history]
    axes[0].plot([h["seconds"] for h in history], psnrs, "o-", ms=3)
    axes[0].set_xlabel("training time (s)")
    axes[0].set_ylabel("PSNR on a held-out view (dB)")
    axes[1].plot([notebook_iterations(h) for h in history], psnrs, "o-", ms=3)
    axes[1].set_xlabel(NOTEBOOK_AXIS)
    fig.suptitle(title)
    return save_figure(fig, path)
