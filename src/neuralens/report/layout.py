"""Which files of a demo run folder hold each study's results: the report's sections read them, and
``neuralens report`` refuses a folder holding none (checked without importing the builder)."""

from __future__ import annotations

#: section folder -> the files whose presence (any one) means the study ran there
RESULT_FILES: dict[str, tuple[str, ...]] = {
    "depth": ("depth/depth.json",),
    "cnn": ("cnn/summary.json",),
    "gradflow": ("gradflow/gradflow.json",),
    "landscape": ("landscape/compare.json",),
    "deform": ("deform/check.json",),
    "nerf": ("nerf/compare/compare.json", "nerf/compare/seeds.json"),  # one comparison, or one per seed
}
