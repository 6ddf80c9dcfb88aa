"""A deterministic, procedurally generated 10-class 32x32 RGB dataset: the offline stand-in for CIFAR-10.

Each class is a shape or texture (disc, square, triangle, ring, plus, stripes, checker, diamond, two dots, X)
drawn at a random position, scale and small rotation with random foreground/background colours, a background
gradient and pixel noise. Rotations stay within +-20 degrees so that square/diamond and plus/X stay distinct.
"""

from __future__ import annotations

import numpy as np

SYNTHETIC_CLASSES = [
    "disc", "square", "triangle", "ring", "plus", "stripes", "checker", "diamond", "two_dots", "x_cross",
]


def _shape_mask(label: int, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Boolean mask of class ``label`` in shape-local coordinates (x, y), unit scale."""
    r2 = x * x + y * y
    if label == 0:
        return r2 < 0.7
    if label == 1:
        return np.maximum(np.abs(x), np.abs(y)) < 0.7
    if label == 2:
        return (y < 0.55) & (y > -0.75) & (np.abs(x) < (0.55 - y) * 0.6)
    if label == 3:
        return (r2 > 0.2) & (r2 < 0.7)
    if label == 4:
        return ((np.abs(x) < 0.2) & (np.abs(y) < 0.8)) | ((np.abs(y) < 0.2) & (np.abs(x) < 0.8))
    if label == 5:
        return (np.sin(6 * np.pi * y) > 0) & (np.maximum(np.abs(x), np.abs(y)) < 0.8)
    if label == 6:
        return (np.sin(3 * np.pi * x) * np.sin(3 * np.pi * y) > 0) & (np.maximum(np.abs(x), np.abs(y)) < 0.8)
    if label == 7:
        return np.abs(x) + np.abs(y) < 0.85
    if label == 8:
        return ((x - 0.45) ** 2 + y * y < 0.1) | ((x + 0.45) ** 2 + y * y < 0.1)
    if label == 9:
        return ((np.abs(x - y) < 0.25) | (np.abs(x + y) < 0.25)) & (r2 < 0.8)
    raise ValueError(f"label must be in 0..9, got {label}")


def make_synthetic_arrays(n: int, seed: int, size: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """Return ``x`` (n, size, size, 3) uint8 and balanced labels ``y`` (n,) int64, fully determined by seed."""
    x, y, _, _ = make_shapes(n, seed, size)
    return x, y


def make_shapes(n: int, seed: int, size: int = 32, scales: tuple[float, float] = (0.45, 0.8),
                shift: float = 0.3) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The shapes of :func:`make_synthetic_arrays` with their geometry: ``x`` uint8 (n, size, size, 3), labels
    ``y``, each object's ``scale`` (n,) (its half-size in units of half the image, drawn uniformly from
    ``scales``) and its pixel ``mask`` (n, size, size) bool; centres within +-``shift`` of the middle."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 10
    rng.shuffle(y)
    lin = (np.arange(size) + 0.5) / size * 2 - 1
    v, u = np.meshgrid(lin, lin, indexing="ij")  # v: rows (down), u: columns (right)
    images = np.empty((n, size, size, 3), dtype=np.float32)
    scale_of, masks = np.empty(n), np.empty((n, size, size), dtype=bool)
    for label in range(10):
        idx = np.nonzero(y == label)[0]
        k = len(idx)
        if k == 0:
            continue
        cx, cy = rng.uniform(-shift, shift, (2, k, 1, 1))
        scale = rng.uniform(*scales, (k, 1, 1))
        theta = np.deg2rad(rng.uniform(-20, 20, (k, 1, 1)))
        du, dv = (u - cx) / scale, (v - cy) / scale
        xs = np.cos(theta) * du + np.sin(theta) * dv
        ys = -np.sin(theta) * du + np.cos(theta) * dv
        mask = _shape_mask(label, xs, ys)[..., None]
        fg = rng.uniform(0, 1, (k, 1, 1, 3))
        bg = rng.uniform(0, 1, (k, 1, 1, 3))
        # keep shapes visible: push the background away from the foreground where they are too close
        close = np.abs(fg - bg).sum(-1, keepdims=True) < 0.6
        bg = np.where(close, 1.0 - fg, bg)
        grad_dir = rng.uniform(-0.25, 0.25, (k, 1, 1, 2))
        gradient = grad_dir[..., :1] * u[None, :, :, None] + grad_dir[..., 1:] * v[None, :, :, None]
        img = np.where(mask, fg, bg + gradient)
        img = img + rng.normal(0, 0.05, img.shape)
        images[idx] = img.astype(np.float32)
        scale_of[idx], masks[idx] = scale[:, 0, 0], mask[..., 0]
    x = (np.clip(images, 0, 1) * 255 + 0.5).astype(np.uint8)
    return x, y.astype(np.int64), scale_of, masks
