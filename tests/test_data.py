from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from neuralens.core.errors import NeuralensError
from neuralens.data.cifar import augment_batch, load_image_data, make_synthetic


def test_synthetic_is_deterministic_balanced_and_disjoint() -> None:
    a = make_synthetic(200, 50, seed=3)
    b = make_synthetic(200, 50, seed=3)
    c = make_synthetic(200, 50, seed=4)
    assert torch.equal(a.x_train, b.x_train) and torch.equal(a.y_test, b.y_test)
    assert not torch.equal(a.x_train, c.x_train)
    assert a.x_train.shape == (200, 3, 32, 32) and a.x_train.dtype == torch.uint8
    assert torch.bincount(a.y_train, minlength=10).tolist() == [20] * 10
    assert not torch.equal(a.x_train[:50], a.x_test)  # train and test come from different seeds


def test_auto_without_cifar_announces_synthetic(tmp_path: Path) -> None:
    msgs: list[str] = []
    d = load_image_data("auto", tmp_path, synthetic_size=(20, 10), log=msgs.append)
    assert "synthetic" in d.source and len(msgs) == 1 and "synthetic" in msgs[0]


def test_npz_file_split_and_labels(tiny_npz: Path) -> None:
    d = load_image_data(str(tiny_npz))
    assert len(d.x_train) + len(d.x_test) == 60 and len(d.x_test) == 10
    raw = np.load(tiny_npz)
    # every loaded image is one of the file's images with its own label
    flat = {raw["x"][i].tobytes(): int(raw["y"][i]) for i in range(60)}
    for x, y in zip(d.x_test, d.y_test):
        assert flat[x.permute(1, 2, 0).numpy().tobytes()] == int(y)


def test_npz_folder_layout(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    x = rng.integers(0, 256, (30, 32, 32, 3), dtype=np.uint8)
    np.savez(tmp_path / "cifar10_train.npz", x=x, y=np.arange(30) % 10, classes=np.array(list("abcdefghij")))
    np.savez(tmp_path / "cifar10_test.npz", x=x[:10], y=np.arange(10))
    for spec, root in ((str(tmp_path), "data"), ("cifar10", tmp_path), ("auto", tmp_path)):
        d = load_image_data(spec, root)
        assert d.x_train.shape == (30, 3, 32, 32) and d.classes == list("abcdefghij")
        assert torch.equal(d.x_train[5].permute(1, 2, 0), torch.from_numpy(x[5]))


def test_image_folder(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    for split, n in (("train", 3), ("test", 2)):
        for cls in ("cat", "dog"):
            (tmp_path / split / cls).mkdir(parents=True)
            for i in range(n):
                pixels = rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)
                Image.fromarray(pixels).save(tmp_path / split / cls / f"{i}.png")
    d = load_image_data(str(tmp_path))
    assert d.classes == ["cat", "dog"]
    assert d.x_train.shape == (6, 3, 32, 32) and d.x_test.shape == (4, 3, 32, 32)
    assert d.y_train.tolist() == [0, 0, 0, 1, 1, 1]


def test_torchvision_cifar_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The real torchvision reader on a folder in CIFAR's pickled layout (MD5 check bypassed: files are ours)."""
    from torchvision.datasets import CIFAR10

    base = tmp_path / "cifar-10-batches-py"
    base.mkdir()
    rng = np.random.default_rng(3)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    expected = {}
    for name in names:
        data = rng.integers(0, 256, (4, 3 * 32 * 32), dtype=np.uint8)
        labels = rng.integers(0, 10, 4).tolist()
        expected[name] = (data, labels)
        with open(base / name, "wb") as fh:
            pickle.dump({"data": data, "labels": labels}, fh)
    with open(base / "batches.meta", "wb") as fh:
        pickle.dump({"label_names": [f"c{i}" for i in range(10)]}, fh)
    import torchvision.datasets.cifar as tv_cifar

    monkeypatch.setattr(CIFAR10, "_check_integrity", lambda self: True)
    monkeypatch.setattr(tv_cifar, "check_integrity", lambda *a, **k: True)
    d = load_image_data("cifar10", tmp_path)
    assert d.x_train.shape == (20, 3, 32, 32) and d.x_test.shape == (4, 3, 32, 32)
    data, labels = expected["test_batch"]
    assert torch.equal(d.x_test.reshape(4, -1), torch.from_numpy(data))
    assert d.y_test.tolist() == labels and d.classes[0] == "c0"


def test_missing_cifar_is_actionable(tmp_path: Path) -> None:
    with pytest.raises(NeuralensError, match="neuralens data fetch cifar10"):
        load_image_data("cifar10", tmp_path / "nowhere")


@pytest.mark.parametrize(
    ("arrays", "match"),
    [
        ({"x": np.zeros((4, 32, 32), np.uint8), "y": np.zeros(4, int)}, "shape"),
        ({"x": np.zeros((4, 32, 32, 3), np.float32), "y": np.zeros(4, int)}, "uint8"),
        ({"x": np.zeros((4, 32, 32, 3), np.uint8), "y": np.zeros(3, int)}, "labels"),
        ({"x": np.zeros((4, 32, 32, 3), np.uint8)}, "missing"),
        ({"x": np.zeros((12, 32, 32, 3), np.uint8), "y": -np.ones(12, int)}, "labels must lie"),
    ],
)
def test_bad_npz_contents(tmp_path: Path, arrays: dict, match: str) -> None:
    p = tmp_path / "bad.npz"
    np.savez(p, **arrays)
    with pytest.raises(NeuralensError, match=match):
        load_image_data(str(p))


def test_corrupted_npz_and_missing_path(tmp_path: Path) -> None:
    p = tmp_path / "broken.npz"
    p.write_bytes(b"PK\x03\x04 this is not a zip")
    with pytest.raises(NeuralensError, match="cannot read"):
        load_image_data(str(p))
    with pytest.raises(NeuralensError, match="no such file"):
        load_image_data(str(tmp_path / "absent"))


def test_augment_batch_is_crop_and_flip_of_padded_image() -> None:
    x = torch.randint(0, 256, (64, 3, 8, 8), dtype=torch.uint8)
    g = torch.Generator().manual_seed(0)
    out = augment_batch(x, g, pad=2)
    padded = torch.nn.functional.pad(x, (2, 2, 2, 2)).float() / 255
    assert out.shape == (64, 3, 8, 8) and out.dtype == torch.float32
    for i in range(64):
        # the output must equal one of the 5x5x2 possible crops of the padded image
        cands = [padded[i, :, a:a + 8, b:b + 8] for a in range(5) for b in range(5)]
        cands += [c.flip(-1) for c in cands]
        assert any(torch.equal(out[i], c) for c in cands)
    # both flips and several offsets occur
    same = sum(torch.equal(out[i], x[i].float() / 255) for i in range(64))
    assert same < 64
