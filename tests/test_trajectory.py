"""The training path on the landscape (train --snapshots, landscape --trajectory), and direction methods as a part:
a toy method registered in one line runs through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.numpy import load_file

from cli_driver import assert_torchrun_matches_one_process
from neuralens.cli import main
from neuralens.cnn.settings import DIRECTIONS
from neuralens.cnn.trajectory import load_trajectory, pca_plane
from neuralens.data.cifar import make_synthetic
from neuralens.models.train import TrainConfig, train

DATA = ["--data", "synthetic", "--train-size", "256", "--test-size", "64"]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("traj") / "run"
    cfg = TrainConfig(model="resnet18", width=0.125, epochs=4, batch_size=64, lr=0.05, device="cpu",
                      channels_last=False, precision="fp32", steps_per_epoch=3, snapshots=True)
    train(cfg, make_synthetic(256, 64), out, log=lambda _: None, progress=False)
    return out


def test_snapshots_are_half_precision_from_initialisation_to_the_end(run: Path) -> None:
    names = sorted(p.name for p in (run / "snapshots").iterdir())
    assert names == [f"epoch_{k:03d}.safetensors" for k in range(5)]
    snap = load_file(str(run / "snapshots" / "epoch_004.safetensors"))
    assert snap["conv1.weight"].dtype == np.float16 and snap["bn1.running_var"].dtype == np.float32
    final = torch.load(run / "model.pt", weights_only=True)["state_dict"]
    np.testing.assert_allclose(snap["conv1.weight"], final["conv1.weight"].numpy(), atol=2e-3)


def test_pca_plane_matches_an_independent_svd_and_ends_at_the_centre(run: Path) -> None:
    traj = load_trajectory(run)
    plane = pca_plane(traj)
    # recomputed here from the files alone: numpy SVD of (snapshot - final) over conv/linear weights
    final = torch.load(run / "model.pt", weights_only=True)["state_dict"]
    keys = [k for k, v in final.items() if v.ndim > 1 and k.endswith(".weight") and not k.startswith("preprocess")]
    end = np.concatenate([final[k].numpy().astype(np.float64).ravel() for k in keys])
    rows = []
    for f in sorted((run / "snapshots").glob("*.safetensors")):
        s = load_file(str(f))
        rows.append(np.concatenate([s[k].astype(np.float64).ravel() for k in keys]) - end)
    sing = np.linalg.svd(np.stack(rows), compute_uv=False)
    want = (sing ** 2 / (sing ** 2).sum())[:2]
    np.testing.assert_allclose(plane["explained_variance"], want, rtol=1e-6)
    coords = plane["coords"]
    assert np.abs(coords[-1]).max() < 0.01 * np.abs(coords).max()  # the path ends at the final weights
    assert np.abs(coords[0]).max() == np.abs(coords).max()  # and starts farthest away, at initialisation


def test_landscape_trajectory_writes_the_plane_and_the_figure(run: Path, tmp_path: Path) -> None:
    out = tmp_path / "land"
    assert main(["landscape", "--trajectory", str(run), "--steps", "5", "--eval-size", "32", *DATA,
                 "--out", str(out)]) == 0
    meta = json.loads((out / "landscape.json").read_text())
    assert meta["directions"] == "pca" and len(meta["path"]) == 5 and meta["epochs"] == [0, 1, 2, 3, 4]
    assert sum(meta["explained_variance"]) <= 1.0 + 1e-9 and meta["explained_variance"][0] > 0.5
    land = np.load(out / "landscape.npz")
    assert land["loss"].shape == (5, 5) and np.isfinite(land["loss"]).all()
    assert land["alphas"][2] == 0 and land["betas"][2] == 0  # the final weights are the grid's centre
    assert (out / "trajectory.png").stat().st_size > 10_000
    assert main(["landscape", "--trajectory", str(tmp_path), *DATA, "--out", str(tmp_path / "x")]) == 2


def test_a_direction_method_is_one_function_and_one_registry_line(tmp_path: Path) -> None:
    def ones(model: torch.nn.Module, generator: torch.Generator) -> list[torch.Tensor]:
        return [torch.ones_like(p) * 1e-3 if p.ndim > 1 else torch.zeros_like(p) for p in model.parameters()]

    DIRECTIONS.register("toy_ones", ones)
    try:
        out = tmp_path / "toy"
        assert main(["landscape", "--model", "resnet18", "--width", "0.125", "--directions", "toy_ones", "--steps",
                     "3", "--eval-size", "16", "--hessian-steps", "0", "--direction-seeds", "2", *DATA,
                     "--out", str(out)]) == 0
        meta = json.loads((out / "landscape.json").read_text())
        assert meta["directions"] == "toy_ones" and meta["sharpness"]["directions"] == "toy_ones"
        rises = [r["mean_rise_r0.5"] for r in meta["sharpness"]["per_direction_seed"]]
        assert rises[0] == pytest.approx(rises[1])  # a deterministic method: both seeds draw the same plane
    finally:
        DIRECTIONS.unregister("toy_ones")


def test_a_trajectory_plane_shards_over_torchrun_with_identical_results(run: Path, tmp_path: Path) -> None:
    common = ["landscape", "--trajectory", str(run), "--steps", "3", "--eval-size", "16", *DATA]
    assert_torchrun_matches_one_process(common, tmp_path, 29519)
