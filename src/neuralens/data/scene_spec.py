"""``--scene`` values checked without torch (and without reading the scene): the command line answers a wrong
scene kind, a missing path or a bad split at once, with the closest names."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from neuralens.core.errors import NeuralensError
from neuralens.core.suggest import did_you_mean

#: scene names that are not paths; the built-in ones take an optional ``:SIZE``
SCENE_KINDS = ("auto", "builtin", "builtin-b", "builtin-ff")
SPLITS = ("default", "all")


def parse_builtin(spec: str) -> tuple[str, int] | None:
    """``builtin[-b|-ff][:SIZE]`` -> (name, size); None for any other spec; a bad size is one line."""
    name, _, size_text = spec.partition(":")
    if name not in SCENE_KINDS[1:]:
        return None
    try:
        size = int(size_text) if size_text else (64 if name == "builtin-ff" else 100)
    except ValueError:
        raise NeuralensError(f"--scene {spec!r}: use builtin, builtin-b, builtin-ff or builtin:SIZE") from None
    if not 8 <= size <= 1024:
        raise NeuralensError(f"--scene {spec!r}: size must lie in 8..1024")
    return name, size


def parse_views(text: str | None) -> list[int] | None:
    """``--test-views 0,10,20`` -> [0, 10, 20] (range checks need the scene)."""
    if not text:
        return None
    try:
        views = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise NeuralensError(f"--test-views {text!r}: give comma-separated view indices, e.g. 0,10,20") from None
    if not views or min(views) < 0:
        raise NeuralensError(f"--test-views {text!r}: give non-negative view indices, e.g. 0,10,20")
    return views


def check_scene_args(spec: str | None, split: str | None = None, test_views: str | None = None) -> None:
    """Everything about ``--scene``/``--split``/``--test-views`` that is known before the scene is read."""
    if split is not None and split not in SPLITS:
        raise NeuralensError(f"--split {split!r}{did_you_mean(split, SPLITS)}: use {' or '.join(SPLITS)}")
    parse_views(test_views)
    if spec is None or spec == "auto" or parse_builtin(spec) is not None:
        return
    path = Path(spec)
    if path.is_file() and path.suffix not in (".npz", ".json"):
        raise NeuralensError(f"{path}: a scene file must be a tiny_nerf .npz or a transforms.json (or give a "
                             "Blender, LLFF or COLMAP folder)")
    if not path.exists():
        raise NeuralensError(f"--scene {spec!r}: no such file or folder{did_you_mean(spec.split(':')[0], SCENE_KINDS)}"
                             " (use auto, builtin, builtin:SIZE, a .npz, a transforms.json or a scene folder)")


@dataclass(frozen=True)
class SceneChoice:
    """Which scene a NeRF study runs on, as typed settings (the demo builds one; the CLI builds one from its
    ``--scene/--split/--test-views/--white-bg/--downscale``); ``argv`` is only for a child ``nerf train``."""

    spec: str = "auto"
    split: str | None = None
    test_views: str | None = None
    white_bg: bool = False
    downscale: int = 1

    def argv(self) -> list[str]:
        words = ["--scene", self.spec, "--downscale", str(self.downscale)]
        words += ["--split", self.split] if self.split else []
        words += ["--test-views", self.test_views] if self.test_views else []
        return [*words, "--white-bg"] if self.white_bg else words
