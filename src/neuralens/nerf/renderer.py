"""Rays in, pixels out: sampler + field + volume rendering, with optional coarse-to-fine resampling.

The field is a callback ``field(points (..., 3), viewdirs (..., 3) | None) -> (sigma (...), rgb (..., 3))`` and
an optional estimator (the occupancy grid) chooses the samples; the renderer knows neither's internals.
``render_rays`` is what training and evaluation call; ``render_image`` chunks a whole view so memory stays
bounded whatever the resolution.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from neuralens.data.cameras import Camera
from neuralens.nerf.config import SAMPLERS, RenderSettings
from neuralens.nerf.occupancy import OccupancyGrid
from neuralens.nerf.rendering import render_weight_from_density, volume_render
from neuralens.nerf.sampling import (
    importance_samples,
    midpoints,
    uniform_samples,
)

#: a radiance field as the renderer sees it
FieldFn = Callable[[Tensor, Tensor | None], tuple[Tensor, Tensor]]


def _samples(s: RenderSettings, n_rays: int, train: bool, gen: torch.Generator | None, device: torch.device) -> Tensor:
    """Depths along each ray: the settings' registered sampler in training, evenly spaced in evaluation."""
    if not train:
        return uniform_samples(s.near, s.far, s.n_samples, n_rays, device)
    return SAMPLERS.get(s.sampler)(s.near, s.far, s.n_samples, n_rays, gen, device)


def _background(s: RenderSettings, background: Tensor | None) -> Tensor | float | None:
    """The colour behind the samples: a per-ray override, else the settings' constant (None when black)."""
    return background if background is not None else (s.background or None)


def _evaluate(field: FieldFn, origins: Tensor, dirs: Tensor, t: Tensor, s: RenderSettings) -> tuple[Tensor, Tensor]:
    """(sigma (R, S), rgb (R, S, 3)) of ``field`` at depths ``t`` (R, S) along each ray, in float32 whatever the
    field computed in (autocast): transmittance is a product over many samples, which bfloat16 would round."""
    pts = origins[:, None, :] + dirs[:, None, :] * t[..., None]
    viewdirs = None
    if s.use_viewdirs:
        viewdirs = (dirs / dirs.norm(dim=-1, keepdim=True))[:, None, :].expand_as(pts)
    sigma, rgb = field(pts, viewdirs)
    return sigma.float(), rgb.float()


def _query(field: FieldFn, origins: Tensor, dirs: Tensor, t: Tensor, s: RenderSettings,
           background: Tensor | None = None) -> dict[str, Tensor]:
    sigma, rgb = _evaluate(field, origins, dirs, t, s)
    out = volume_render(sigma, rgb, t, background=_background(s, background))
    out["sigma"], out["field_rgb"] = sigma, rgb
    return out


def _second_pass(field: FieldFn, fine: FieldFn | None, origins: Tensor, dirs: Tensor, coarse: dict[str, Tensor],
                 t_fine: Tensor, s: RenderSettings, background: Tensor | None) -> dict[str, Tensor]:
    """Render coarse + importance samples together. A separate ``fine`` field (NeRF) evaluates all of them; with
    one field for both passes (mip-NeRF) its coarse outputs are reused and only the new samples cost a call."""
    t_all, order = torch.cat([coarse["t"], t_fine], -1).sort(-1)
    if fine is not None:
        return {**_query(fine, origins, dirs, t_all, s, background), "t": t_all}
    sigma_new, rgb_new = _evaluate(field, origins, dirs, t_fine, s)
    sigma = torch.cat([coarse["sigma"], sigma_new], -1).gather(-1, order)
    rgb = torch.cat([coarse["field_rgb"], rgb_new], -2).gather(-2, order[..., None].expand(*order.shape, 3))
    return {**volume_render(sigma, rgb, t_all, background=_background(s, background)), "t": t_all}


def _masked_query(field: Any, pts: Tensor, viewdirs: Tensor | None, delta: Tensor, rays: Tensor,
                  threshold: float) -> tuple[Tensor, Tensor]:
    """Density at every sample, colour only where the sample's weight reaches ``threshold``.

    A sample's weight bounds how much its colour can move the pixel, so samples far behind a surface
    (transmittance ~ 0) or in near-empty space (alpha ~ 0) cost only the cheap density lookup; their colour counts
    as black, an error below ``threshold`` per sample. The weights use the same densities, so nothing is skipped
    that the rendering would show.
    """
    sigma = field.density(pts).float()
    with torch.no_grad():
        keep = render_weight_from_density(sigma, delta, rays)[0] >= threshold
    rgb = sigma.new_zeros(*sigma.shape, 3)
    if bool(keep.any()):
        colours = field.radiance(pts[keep], None if viewdirs is None else viewdirs[keep])
        rgb = rgb.index_put((keep,), colours.float())
    return sigma, rgb


def _render_packed(field: FieldFn, origins: Tensor, dirs: Tensor, s: RenderSettings, occ: OccupancyGrid,
                   train: bool, generator: torch.Generator | None, background: Tensor | None) -> dict[str, Tensor]:
    t, rays, delta = occ.sample(origins, dirs, s.near, s.far, train, generator)
    pts = origins[rays] + dirs[rays] * t[:, None]
    viewdirs = None
    if s.use_viewdirs:
        viewdirs = dirs[rays] / dirs[rays].norm(dim=-1, keepdim=True)
    if s.weight_threshold > 0 and hasattr(field, "density") and hasattr(field, "radiance"):
        sigma, rgb = _masked_query(field, pts, viewdirs, delta, rays, s.weight_threshold)
    else:
        sigma, rgb = (x.float() for x in field(pts, viewdirs))
    out = volume_render(sigma, rgb, t, delta, background=_background(s, background),
                        ray_indices=rays, n_rays=origins.shape[0])
    out["n_samples"] = torch.tensor(float(t.numel()))
    return out


def render_rays(field: FieldFn, origins: Tensor, dirs: Tensor, s: RenderSettings, train: bool = False,
                generator: torch.Generator | None = None, fine: FieldFn | None = None,
                occ: OccupancyGrid | None = None, background: Tensor | None = None) -> dict[str, Tensor]:
    """Render (n_rays, 3) rays. With an occupancy grid ``occ`` samples in empty cells are skipped.
    ``background`` (n_rays, 3) replaces the settings' constant background (random-background training).
    With ``s.n_importance`` > 0 a second pass samples where the first found weight (using ``fine`` if given,
    else the same field, whose coarse outputs are then reused); the result is the fine pass, the coarse one is
    returned under ``coarse_rgb``.
    """
    if occ is not None:
        return _render_packed(field, origins, dirs, s, occ, train, generator, background)
    t = _samples(s, origins.shape[0], train, generator, origins.device)
    out = _query(field, origins, dirs, t, s, background)
    out["t"] = t
    if s.n_importance > 0:
        t_fine = importance_samples(midpoints(t), out["weights"], s.n_importance, deterministic=not train,
                                    generator=generator)
        fine_out = _second_pass(field, fine, origins, dirs, out, t_fine, s, background)
        fine_out["coarse_rgb"] = out["rgb"]
        out = fine_out
    return out


@torch.no_grad()
def render_pixels(field: FieldFn, camera: Camera, c2w: Tensor, rows: Tensor, cols: Tensor, s: RenderSettings,
                  chunk: int = 4096, fine: FieldFn | None = None, occ: OccupancyGrid | None = None,
                  device: torch.device | None = None) -> Tensor:
    """The rgb (n, 3) of chosen pixels (``rows``, ``cols``) of one view, in chunks: a cheap probe of a view."""
    device = device or c2w.device
    origins, dirs = camera.pixel_rays(c2w.to(device).expand(len(rows), 4, 4), rows, cols, s.pixel_offset)
    parts = [render_rays(field, origins[i:i + chunk], dirs[i:i + chunk], s, train=False, fine=fine, occ=occ)["rgb"]
             .cpu() for i in range(0, len(rows), chunk)]
    return torch.cat(parts)


@torch.no_grad()
def render_image(field: FieldFn, camera: Camera, c2w: Tensor, s: RenderSettings, chunk: int = 4096,
                 fine: FieldFn | None = None, occ: OccupancyGrid | None = None, device: torch.device | None = None
                 ) -> dict[str, Tensor]:
    """Render what ``camera`` sees from ``c2w`` in chunks of ``chunk`` rays (on ``device``, default the pose's);
    returns rgb (H, W, 3), depth (H, W), opacity (H, W)."""
    device = device or c2w.device
    height, width = camera.height, camera.width
    origins, dirs = camera.rays(c2w.to(device), s.pixel_offset)
    origins, dirs = origins.reshape(-1, 3), dirs.reshape(-1, 3)
    parts: dict[str, list[Tensor]] = {"rgb": [], "depth": [], "opacity": []}
    for i in range(0, origins.shape[0], chunk):
        out = render_rays(field, origins[i:i + chunk], dirs[i:i + chunk], s, train=False, fine=fine, occ=occ)
        for k in parts:
            parts[k].append(out[k].cpu())
    return {
        "rgb": torch.cat(parts["rgb"]).view(height, width, 3),
        "depth": torch.cat(parts["depth"]).view(height, width),
        "opacity": torch.cat(parts["opacity"]).view(height, width),
    }
