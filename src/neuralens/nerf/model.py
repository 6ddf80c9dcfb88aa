"""A NeRF run's learnable parts as one object, built from a config and read back from a checkpoint."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from neuralens.core.checkpoint import load_checkpoint
from neuralens.core.errors import NeuralensError
from neuralens.data.cameras import Camera
from neuralens.nerf.config import NerfConfig, config_from_dict
from neuralens.nerf.fields import FIELDS, create_field
from neuralens.nerf.occupancy import OccupancyGrid
from neuralens.nerf.renderer import render_image, render_pixels


@dataclass
class NerfModel:
    """The field, NeRF's separate fine field for hierarchical sampling, and the occupancy grid (each optional
    but the first), with one ``state_dict`` and one ``render_image`` for all of them."""

    coarse: nn.Module
    fine: nn.Module | None = None
    occ: OccupancyGrid | None = None

    def modules(self) -> dict[str, nn.Module]:
        return {k: m for k, m in (("coarse", self.coarse), ("fine", self.fine), ("occ", self.occ)) if m is not None}

    @property
    def device(self) -> torch.device:
        return next(self.coarse.parameters()).device

    def to(self, device: torch.device) -> NerfModel:
        for m in self.modules().values():
            m.to(device)
        return self

    def train(self, mode: bool = True) -> None:
        for m in self.modules().values():
            m.train(mode)

    def state_dict(self) -> dict[str, Any]:
        return {f"{name}.{k}": v.detach().cpu() for name, m in self.modules().items()
                for k, v in m.state_dict().items()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for name, m in self.modules().items():
            m.load_state_dict({k[len(name) + 1:]: v for k, v in state.items() if k.startswith(name + ".")})

    def rays_per_step(self, batch_rays: int) -> int:
        return self.occ.rays_per_step(batch_rays) if self.occ is not None else batch_rays

    def render_image(self, camera: Camera, pose: torch.Tensor, cfg: NerfConfig) -> dict[str, torch.Tensor]:
        """rgb, depth and opacity of one view seen by ``camera`` from ``pose``."""
        return render_image(self.coarse, camera, pose, cfg.render, cfg.chunk, self.fine, self.occ, self.device)

    def render_pixels(self, camera: Camera, pose: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor,
                      cfg: NerfConfig) -> torch.Tensor:
        """rgb (n, 3) of the pixels (``rows``, ``cols``) of one view."""
        return render_pixels(self.coarse, camera, pose, rows, cols, cfg.render, cfg.chunk, self.fine, self.occ,
                             self.device)


def field_kwargs(cfg: NerfConfig) -> dict[str, Any]:
    """The keyword arguments of ``cfg``'s field, refusing MLP overrides for fields without an MLP trunk."""
    kw = dict(cfg.field_kwargs)
    can = FIELDS.info(cfg.field)
    if can.get("scene_box"):  # a grid field covers the renderer's scene box
        kw.setdefault("bound", cfg.render.bound)
    if cfg.render.use_viewdirs:
        kw.setdefault("use_viewdirs", True)
    for key, value in (("width", cfg.mlp_width), ("depth", cfg.mlp_depth)):
        if value is not None:
            if not can.get("mlp_trunk"):
                raise NeuralensError(f"--{key} sets the MLP trunk of a field; variant {cfg.variant!r} uses the "
                                     f"{cfg.field!r} field, which has none")
            kw[key] = value
    return kw


def build_model(cfg: NerfConfig) -> NerfModel:
    """The field, a fine field for hierarchical sampling, and an occupancy grid when skipping is on."""
    kw = field_kwargs(cfg)
    coarse = create_field(cfg.field, **kw)
    fine = create_field(cfg.field, **kw) if cfg.render.n_importance > 0 and cfg.separate_fine else None
    occ = None
    if cfg.render.occupancy:
        occ = OccupancyGrid(bound=cfg.render.bound, march_steps=cfg.render.march_steps, warmup=cfg.occ_warmup,
                            update_every=cfg.occ_update_every, warmup_march_steps=cfg.warmup_march_steps)
    return NerfModel(coarse, fine, occ)


def load_nerf(path: str | Path) -> tuple[dict[str, Any], NerfConfig, NerfModel]:
    """(checkpoint dict, config, model in eval mode) of a NeRF checkpoint, with one-line errors for wrong files."""
    ckpt = load_checkpoint(path, kind="nerf")
    try:
        cfg = config_from_dict(ckpt["config"])
        model = build_model(cfg)
        model.load_state_dict(ckpt["state_dict"])
    except (RuntimeError, TypeError, KeyError, ValueError) as exc:
        raise NeuralensError(f"{path}: not a loadable NeRF checkpoint ({str(exc).splitlines()[0][:160]})") from None
    model.train(False)
    return ckpt, cfg, model
