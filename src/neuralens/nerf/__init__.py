"""Tiny NeRF: rays, samplers, volume rendering as small pure functions, fields, the occupancy estimator, the
trainer and its recipes. The names below are the public API (see docs/api.md)."""

from neuralens.data.cameras import get_rays, look_at, orbit_poses
from neuralens.nerf.config import NerfConfig
from neuralens.nerf.encoding import PositionalEncoding, positional_encoding
from neuralens.nerf.fields import FIELDS, create_field
from neuralens.nerf.grid_field import VMField
from neuralens.nerf.metrics import psnr, ssim
from neuralens.nerf.mlp_field import TinyNeRF
from neuralens.nerf.model import NerfModel, build_model, load_nerf
from neuralens.nerf.occupancy import OccupancyGrid
from neuralens.nerf.renderer import RenderSettings, render_image, render_rays
from neuralens.nerf.rendering import (
    accumulate_along_rays,
    render_transmittance_from_density,
    render_weight_from_density,
    volume_render,
)
from neuralens.nerf.sampling import (
    importance_samples,
    midpoints,
    stratified_samples,
    tiny_nerf_samples,
    uniform_samples,
)
from neuralens.nerf.trainer import evaluate_views, fit_to_scene, train_nerf
from neuralens.nerf.variants import VARIANTS, make_config

__all__ = [
    "FIELDS", "VARIANTS", "NerfConfig", "NerfModel", "OccupancyGrid", "PositionalEncoding", "RenderSettings",
    "TinyNeRF", "VMField", "accumulate_along_rays", "build_model", "create_field", "evaluate_views", "fit_to_scene",
    "get_rays",
    "importance_samples", "load_nerf", "look_at", "make_config", "midpoints", "orbit_poses", "positional_encoding",
    "psnr", "render_image", "render_rays", "render_transmittance_from_density", "render_weight_from_density", "ssim",
    "stratified_samples", "tiny_nerf_samples", "train_nerf", "uniform_samples", "volume_render",
]
