"""Everything a run writes loads back through the project's own loaders: classifier checkpoints, snapshots and
model cards; NeRF checkpoints trained on every scene format (tiny_nerf npz, Blender, LLFF, COLMAP)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from cli_driver import run_many
from neuralens.core.checkpoint import check_plain, load_checkpoint, save_checkpoint
from neuralens.data.capture_writer import write_room_capture
from neuralens.data.scenes import builtin_scene, save_tiny_npz


def _blender(folder: Path) -> Path:
    """The builtin scene as a Blender (transforms_*.json + RGBA PNG) capture."""
    scene = builtin_scene(16, n_train=6, n_test=2)
    for split, idx in (("train", scene.train_idx), ("test", scene.test_idx)):
        (folder / split).mkdir(parents=True)
        frames = []
        for i in idx:
            rgb = (scene.images[i].numpy() * 255).round().astype(np.uint8)
            rgba = np.concatenate([rgb, np.full((*rgb.shape[:2], 1), 255, np.uint8)], -1)
            Image.fromarray(rgba, "RGBA").save(folder / split / f"r_{i}.png")
            frames.append({"file_path": f"./{split}/r_{i}", "transform_matrix": scene.poses[i].tolist()})
        angle = 2 * math.atan(scene.width / (2 * scene.focal))
        (folder / f"transforms_{split}.json").write_text(json.dumps({"camera_angle_x": angle, "frames": frames}))
    return folder


SCENES = {
    "tiny_npz": lambda d: save_tiny_npz(builtin_scene(16, n_train=6, n_test=2), d / "scene.npz"),
    "blender": lambda d: _blender(d / "blender"),
    "llff": lambda d: write_room_capture(d / "llff", "llff", size=16, n_views=8),
    "colmap": lambda d: write_room_capture(d / "colmap", "colmap", size=16, n_views=8),
}


def test_a_nerf_trained_on_every_scene_format_evaluates_and_renders(tmp_path: Path) -> None:
    jobs = []
    for fmt, write in SCENES.items():
        scene, out = write(tmp_path), tmp_path / f"run_{fmt}"
        jobs += [({}, ["nerf", "train", "--scene", str(scene), "--model", "tiny", "--width", "8", "--depth", "2",
                       "--samples", "4", "--iters", "2", "--batch-rays", "16", "--out", str(out), "-q"]),
                 ({}, ["nerf", "eval", "--checkpoint", str(out / "checkpoint.pt"), "-q"]),
                 ({}, ["nerf", "render", "--checkpoint", str(out / "checkpoint.pt"), "--orbit", "--frames", "2",
                       "--size", "8", "-q"])]
    results = run_many(jobs, tmp_path)
    failed = [(r["argv"][:2], r["argv"][3], r["stderr"][-300:]) for r in results if r["rc"] != 0]
    assert not failed
    for fmt in SCENES:
        ckpt = load_checkpoint(tmp_path / f"run_{fmt}" / "checkpoint.pt", kind="nerf")
        assert isinstance(ckpt["config"]["render"]["far"], float) and type(ckpt["scene"]["far"]) is float


def test_a_classifier_run_its_snapshots_and_its_card_load_back(tmp_path: Path, tiny_npz: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from neuralens.cnn.trajectory import load_trajectory
    from neuralens.data.cifar import load_image_data
    from neuralens.models.cards import WEIGHTS_DIR_ENV, read_card
    from neuralens.models.registry import create_model
    from neuralens.models.shipping import export_shipped
    from neuralens.models.train import evaluate
    from neuralens.models.weights import load_shipped

    run = tmp_path / "run"
    train = ["train", "--model", "resnet8", "--width", "0.5", "--epochs", "2", "--batch-size", "30",
             "--data", str(tiny_npz), "--snapshots", "--out", str(run), "-q"]
    results = run_many([({}, train), ({}, ["eval", "--checkpoint", str(run / "model.pt"), "--data", str(tiny_npz),
                                           "-q"])], tmp_path)
    assert [r["rc"] for r in results] == [0, 0], [r["stderr"][-300:] for r in results]
    assert len(load_trajectory(run).snapshots) == 3  # initialisation + 2 epochs
    dest = tmp_path / "weights"
    dest.mkdir()
    data = load_image_data(str(tiny_npz), log=lambda m: None)
    card = export_shipped(run, data, dest, "neuralens train ...", [tiny_npz])
    monkeypatch.setenv(WEIGHTS_DIR_ENV, str(dest))
    assert read_card("resnet8")["sha256"] == card["sha256"]
    model = create_model("resnet8", num_classes=10, width=0.5)
    load_shipped(model, "resnet8")
    again = evaluate(model.eval(), data.x_test, data.y_test, 10)
    assert again["accuracy"] == card["metrics"]["accuracy"]


def test_writing_a_checkpoint_refuses_what_loading_would_refuse(tmp_path: Path) -> None:
    """A numpy scalar (the LLFF far plane once was one) fails at save time, not when a user loads the file."""
    check_plain({"far": 1.0, "views": [1, 2], "t": torch.zeros(2), "dtype": torch.float32})
    with pytest.raises(TypeError, match=r"scene\.far is a numpy\.float64"):
        check_plain({"scene": {"far": np.float64(1.0)}})
    with pytest.raises(TypeError, match=r"config.idx\[1\]"):
        save_checkpoint(tmp_path / "c.pt", "nerf", "tiny", {"idx": [1, np.int64(2)]}, {})
    assert not (tmp_path / "c.pt").exists()


def test_a_run_folder_or_checkpoint_of_another_schema_is_refused_in_one_line(tmp_path: Path) -> None:
    from neuralens.core import VERSION

    run = tmp_path / "demo"
    (run / "gradflow").mkdir(parents=True)
    (run / "gradflow" / "gradflow.json").write_text(json.dumps({"schema": 0, "neuralens": "0.0.9", "models": {}}))
    old = tmp_path / "old.pt"
    save_checkpoint(old, "nerf", "tiny", {}, {})
    ckpt = torch.load(old, weights_only=True)
    torch.save({**ckpt, "format": "neuralens/0", "neuralens": "0.0.9"}, old)
    results = run_many([({}, ["report", str(run)]), ({}, ["nerf", "eval", "--checkpoint", str(old)])], tmp_path)
    for r in results:
        assert r["rc"] == 2 and r["stderr"].count("\n") == 1, r["stderr"]
        assert f"written by neuralens 0.0.9, schema 0; this is neuralens {VERSION}" in r["stderr"]
        assert "rerun the command that made it" in r["stderr"]
