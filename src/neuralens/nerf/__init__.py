"""Tiny NeRF: rays, samplers, volume rendering as small pure functions, fields, the occupancy estimator, the
trainer and its recipes. The names below are the public API (see docs/api.md); each loads on first use, so the
command line can read recipes and options without torch."""

from neuralens.core.lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "get_rays": "neuralens.data.cameras",
    "look_at": "neuralens.data.cameras",
    "orbit_poses": "neuralens.data.cameras",
    "NerfConfig": "neuralens.nerf.config",
    "PositionalEncoding": "neuralens.nerf.encoding",
    "positional_encoding": "neuralens.nerf.encoding",
    "FIELDS": "neuralens.nerf.fields",
    "create_field": "neuralens.nerf.fields",
    "VMField": "neuralens.nerf.grid_field",
    "psnr": "neuralens.nerf.metrics",
    "ssim": "neuralens.nerf.metrics",
    "TinyNeRF": "neuralens.nerf.mlp_field",
    "NerfModel": "neuralens.nerf.model",
    "build_model": "neuralens.nerf.model",
    "load_nerf": "neuralens.nerf.model",
    "OccupancyGrid": "neuralens.nerf.occupancy",
    "RenderSettings": "neuralens.nerf.renderer",
    "render_image": "neuralens.nerf.renderer",
    "render_rays": "neuralens.nerf.renderer",
    "accumulate_along_rays": "neuralens.nerf.rendering",
    "render_transmittance_from_density": "neuralens.nerf.rendering",
    "render_weight_from_density": "neuralens.nerf.rendering",
    "volume_render": "neuralens.nerf.rendering",
    "importance_samples": "neuralens.nerf.sampling",
    "midpoints": "neuralens.nerf.sampling",
    "stratified_samples": "neuralens.nerf.sampling",
    "tiny_nerf_samples": "neuralens.nerf.sampling",
    "uniform_samples": "neuralens.nerf.sampling",
    "evaluate_views": "neuralens.nerf.trainer",
    "fit_to_scene": "neuralens.nerf.trainer",
    "train_nerf": "neuralens.nerf.trainer",
    "VARIANTS": "neuralens.nerf.variants",
    "make_config": "neuralens.nerf.variants",
})
