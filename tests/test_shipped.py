"""The weights neuralens ships: exported from a training run as safetensors + model card, loaded without pickle by
``--weights neuralens`` / ``create_model(..., pretrained=True)`` at the card's width and normalisation, scored
exactly as the card says; and the cards in the package describe files that are there and fit the size budget."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from neuralens.core.errors import NeuralensError
from neuralens.data.cifar import make_synthetic
from neuralens.models.build import build_model
from neuralens.models.cards import PRETRAINED_DIR, WEIGHTS_DIR_ENV, available, read_card
from neuralens.models.registry import create_model
from neuralens.models.shipping import export_shipped
from neuralens.models.train import TrainConfig, train
from neuralens.models.weights import read_safetensors


@pytest.fixture(scope="module")
def shipped(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A resnet18 trained for a few steps on generated data, exported into a weights folder of the shipped layout;
    the data is saved too, so a CLI run can score the same images."""
    tmp = tmp_path_factory.mktemp("shipped")
    data = make_synthetic(256, 96, seed=3)
    cfg = TrainConfig(model="resnet18", width=0.125, epochs=1, batch_size=32, lr=0.05, device="cpu",
                      channels_last=False, precision="fp32", steps_per_epoch=4)
    train(cfg, data, tmp / "run", log=lambda _: None, progress=False)
    np.savez(tmp / "data.npz", x_train=data.x_train.permute(0, 2, 3, 1).numpy(), y_train=data.y_train.numpy(),
             x_test=data.x_test.permute(0, 2, 3, 1).numpy(), y_test=data.y_test.numpy(),
             classes=np.array(data.classes))
    export_shipped(tmp / "run", data, tmp / "weights", "neuralens train ... (test)", [tmp / "data.npz"])
    return tmp / "weights", tmp / "data.npz"


def test_export_writes_half_precision_weights_and_a_complete_card(shipped: tuple[Path, Path]) -> None:
    weights, _ = shipped
    card = json.loads((weights / "resnet18.json").read_text())
    for key in ("arch", "width", "normalization", "classes", "metrics", "data", "training", "sha256", "exported"):
        assert key in card
    assert card["width"] == 0.125 and card["normalization"]["name"] == "cifar"
    assert card["data"]["files"]["data.npz"] and len(card["data"]["files"]["data.npz"]) == 64
    state = read_safetensors(weights / "resnet18.safetensors")
    assert state["conv1.weight"].dtype == torch.float16 and state["bn1.running_var"].dtype == torch.float32
    assert state["preprocess.mean"].dtype == torch.float32
    assert abs(card["metrics"]["accuracy"] - card["metrics"]["accuracy_float32"]) <= 0.05
    assert card["training"]["epochs"] == 1 and len(card["training"]["test_accuracy_per_epoch"]) == 1


def test_a_continued_run_gets_a_card_over_every_stage(shipped: tuple[Path, Path], tmp_path: Path) -> None:
    """A run trained on from an earlier run's weights: the card counts the earlier epochs and seconds too."""
    weights, data_file = shipped
    run = weights.parent / "run"
    earlier = [{"epoch": 1, "test_acc": 0.25, "seconds": 10.0}, {"epoch": 2, "test_acc": 0.5, "seconds": 12.0}]
    own = json.loads((run / "metrics.json").read_text())["history"]
    card = export_shipped(run, make_synthetic(256, 96, seed=3), tmp_path, "stage 1 && stage 2", [data_file],
                          earlier=earlier)
    assert card["training"]["epochs"] == 2 + len(own) and card["training"]["command"] == "stage 1 && stage 2"
    assert card["training"]["test_accuracy_per_epoch"][:2] == [0.25, 0.5]
    assert card["training"]["seconds"] == pytest.approx(22.0 + sum(h["seconds"] for h in own), abs=0.1)


def test_pretrained_true_loads_the_stored_weights_without_pickle(shipped: tuple[Path, Path],
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    weights, _ = shipped
    monkeypatch.setenv(WEIGHTS_DIR_ENV, str(weights))

    def no_pickle(*args: object, **kw: object) -> None:
        raise AssertionError("torch.load (pickle) was called")

    monkeypatch.setattr(torch, "load", no_pickle)
    model = create_model("resnet18", pretrained=True).eval()
    assert model.neuralens_card["width"] == 0.125
    state = read_safetensors(weights / "resnet18.safetensors")
    assert torch.equal(model.conv1.weight, state["conv1.weight"].float())
    # the card's width is used; a conflicting width or class count is one clear error, as are other architectures
    with pytest.raises(NeuralensError, match=r"--width 0\.25 conflicts"):
        create_model("resnet18", pretrained=True, width=0.25)
    with pytest.raises(NeuralensError, match="predict 10 classes, not 7"):
        create_model("resnet18", num_classes=7, pretrained=True)
    with pytest.raises(NeuralensError, match="no neuralens weights for 'plain18'"):
        build_model("plain18", weights="neuralens")


def test_a_damaged_weights_file_is_named(shipped: tuple[Path, Path], tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    weights, _ = shipped
    broken = tmp_path / "weights"
    broken.mkdir()
    (broken / "resnet18.json").write_text((weights / "resnet18.json").read_text())
    raw = bytearray((weights / "resnet18.safetensors").read_bytes())
    raw[-10] ^= 0xFF
    (broken / "resnet18.safetensors").write_bytes(bytes(raw))
    monkeypatch.setenv(WEIGHTS_DIR_ENV, str(broken))
    with pytest.raises(NeuralensError, match="not the file its model card describes"):
        create_model("resnet18", pretrained=True)


def test_eval_reproduces_the_cards_accuracy_exactly(shipped: tuple[Path, Path], tmp_path: Path) -> None:
    weights, data_file = shipped
    card = read_card_at(weights, "resnet18")
    res = subprocess.run([sys.executable, "-m", "neuralens.cli", "eval", "--model", "resnet18", "--weights",
                          "neuralens", "--data", str(data_file), "--out", str(tmp_path / "ev")], capture_output=True,
                         text=True, timeout=300, env={**_env(), WEIGHTS_DIR_ENV: str(weights)})
    assert res.returncode == 0, res.stderr[-2000:]
    metrics = json.loads((tmp_path / "ev" / "metrics.json").read_text())
    assert metrics["accuracy"] == card["metrics"]["accuracy"] and metrics["loss"] == card["metrics"]["loss"]
    assert f"accuracy {card['metrics']['accuracy']:.4f}" in res.stdout
    # the card's classes against other data: refused with both lists
    other = tmp_path / "other.npz"
    np.savez(other, x=np.zeros((12, 32, 32, 3), np.uint8), y=np.arange(12) % 10,
             classes=np.array([f"c{i}" for i in range(10)]))
    bad = subprocess.run([sys.executable, "-m", "neuralens.cli", "eval", "--model", "resnet18", "--weights",
                          "neuralens", "--data", str(other), "--out", str(tmp_path / "ev2")], capture_output=True,
                         text=True, timeout=300, env={**_env(), WEIGHTS_DIR_ENV: str(weights)})
    assert bad.returncode == 2 and "predicts the classes [disc, square" in bad.stderr and "c0, c1" in bad.stderr
    assert not (tmp_path / "ev2").exists()


def read_card_at(folder: Path, arch: str) -> dict:
    return json.loads((folder / f"{arch}.json").read_text())


def _env() -> dict[str, str]:
    return dict(os.environ)


# ------------------------------------------------------------------------------------------------ the package's own
SHIPPED_NETS = ("resnet18", "vgg16_bn", "plain18")
#: a floor that catches a broken export or a bad recipe change (these nets measure 0.872-0.881 here); the issue's
#: targets (resnet18 0.88, vgg16_bn 0.87) and whether they were met are in BENCHMARKS.md, not asserted here
FLOORS = {"resnet18": 0.85, "vgg16_bn": 0.85, "plain18": 0.80, "resnet20": 0.84, "plain20": 0.82,
          "resnet56": 0.85, "plain56": 0.65}


def test_the_package_ships_its_cifar10_nets_within_the_size_budget() -> None:
    """The three nets of the study (8 MB at most) and the depth series (8 MB more at most)."""
    assert set(SHIPPED_NETS) <= set(available()), f"shipped: {available()} (see benchmarks/export_pretrained.py)"
    total = sum(p.stat().st_size for p in PRETRAINED_DIR.iterdir())
    assert total <= 16 * 2**20, f"{total / 2**20:.1f} MiB of shipped weights"
    for arch in available():
        card = read_card(arch)
        assert card["num_classes"] == 10 and card["classes"][0] == "airplane" and card["metrics"]["n_test"] == 10000
        assert card["metrics"]["accuracy"] >= FLOORS[arch], (arch, card["metrics"]["accuracy"])
        assert abs(card["metrics"]["accuracy"] - card["metrics"]["accuracy_float32"]) <= 0.001  # fp16 costs <= 0.1pt
        model = create_model(arch, pretrained=True).eval()  # loads, sha256 checked
        x = torch.rand(2, 3, 32, 32)
        with torch.no_grad():
            assert model(x).shape == (2, 10)


@pytest.mark.slow
def test_the_wheel_carries_the_weights_and_cards(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[1]
    res = subprocess.run([sys.executable, "-m", "pip", "wheel", str(root), "--no-deps", "--no-build-isolation",
                          "-q", "-w", str(tmp_path)], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert res.returncode == 0, res.stderr[-2000:]
    wheel = next(tmp_path.glob("neuralens-*.whl"))
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
    for arch in SHIPPED_NETS:
        assert f"neuralens/models/pretrained/{arch}.safetensors" in names
        assert f"neuralens/models/pretrained/{arch}.json" in names


def test_eval_takes_the_data_home_by_default_and_warns_about_foreign_weights_on_generated_data(
        shipped: tuple[Path, Path], tmp_path: Path) -> None:
    weights, data_file = shipped
    home = tmp_path / "home" / "cifar10"
    home.mkdir(parents=True)
    arrays = dict(np.load(data_file))
    for split in ("train", "test"):
        np.savez(home / f"cifar10_{split}.npz", x=arrays[f"x_{split}"], y=arrays[f"y_{split}"],
                 classes=arrays["classes"])
    env = {**_env(), WEIGHTS_DIR_ENV: str(weights), "NEURALENS_DATA": str(tmp_path / "home")}
    res = subprocess.run([sys.executable, "-m", "neuralens.cli", "eval", "--model", "resnet18", "--weights",
                          "neuralens", "--out", str(tmp_path / "ev")], capture_output=True, text=True, timeout=300,
                         env=env)
    assert res.returncode == 0, res.stderr[-2000:]
    assert f"data: npz folder {home}" in res.stderr  # said which data it used
    # a foreign state_dict (classes unknown) scored on the generated stand-in: a one-line warning
    foreign = tmp_path / "foreign.pt"
    torch.save(create_model("resnet18", width=0.125).state_dict(), foreign)
    res = subprocess.run([sys.executable, "-m", "neuralens.cli", "eval", "--model", "resnet18", "--weights",
                          str(foreign), "--data", "synthetic", "--test-size", "32", "--out", str(tmp_path / "ev2")],
                         capture_output=True, text=True, timeout=300, env=_env())
    assert res.returncode == 0, res.stderr[-2000:]
    warnings = [ln for ln in res.stderr.splitlines() if ln.startswith("warning:")]
    assert len(warnings) == 1 and "probably not these generated shapes" in warnings[0]
