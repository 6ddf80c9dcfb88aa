from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from neuralens.core.errors import NeuralensError
from neuralens.models import create_model, list_models, load_checkpoint, model_from_checkpoint, save_checkpoint


@pytest.mark.parametrize("name", ["vgg16", "vgg16_bn", "resnet18", "plain18"])
def test_cifar_models_shapes_and_structure(name: str) -> None:
    m = create_model(name, num_classes=7, width=0.125).eval()
    assert m(torch.rand(3, 3, 32, 32)).shape == (3, 7)
    convs = [mod for mod in m.modules() if isinstance(mod, nn.Conv2d) and mod.kernel_size == (3, 3)]
    assert len(convs) == (13 if name.startswith("vgg") else 17)
    if name.startswith("resnet") or name == "plain18":
        assert not any(isinstance(mod, nn.MaxPool2d) for mod in m.modules())  # CIFAR stem: no max-pool


def test_width_multiplier_scales_channels() -> None:
    small, big = create_model("resnet18", width=0.25), create_model("resnet18", width=0.5)
    assert small.conv1.out_channels == 16 and big.conv1.out_channels == 32
    n_small = sum(p.numel() for p in small.parameters())
    n_big = sum(p.numel() for p in big.parameters())
    assert 3.5 < n_big / n_small < 4.1  # parameters grow ~quadratically with width


def test_normalisation_is_inside_the_model() -> None:
    m = create_model("resnet18", width=0.125).eval()
    x = torch.rand(2, 3, 32, 32)
    mean, std = m.preprocess.mean, m.preprocess.std
    with_norm = m(x)
    m._forward_pre_hooks.clear()  # the bare network, fed normalised input by hand, must agree
    assert torch.allclose(with_norm, m((x - mean) / std), atol=1e-6)
    assert not torch.allclose(with_norm, m(x), atol=1e-3)


def test_unknown_model_lists_choices() -> None:
    with pytest.raises(NeuralensError, match=r"available: .*resnet18"):
        create_model("resnet9000")
    assert {"vgg16", "vgg16_bn", "resnet18", "tv_resnet18"} <= set(list_models())


def test_checkpoint_roundtrip(tmp_path: Path) -> None:
    m = create_model("vgg16_bn", width=0.125).eval()
    m.features[1].running_mean.uniform_()  # buffers must travel too
    path = save_checkpoint(tmp_path / "m.pt", "classifier", "vgg16_bn",
                           {"num_classes": 10, "width": 0.125, "classes": list("abcdefghij")}, m.state_dict(),
                           {"accuracy": 0.5})
    ckpt = load_checkpoint(path, kind="classifier")
    assert ckpt["metrics"]["accuracy"] == 0.5 and ckpt["config"]["classes"][0] == "a"
    m2 = model_from_checkpoint(ckpt).eval()
    x = torch.rand(2, 3, 32, 32)
    assert torch.equal(m(x), m2(x))
    # the same file as `pretrained=` into the right architecture works too
    m3 = create_model("vgg16_bn", width=0.125, pretrained=path).eval()
    assert torch.equal(m(x), m3(x))


def test_checkpoint_into_wrong_architecture_names_both(tmp_path: Path) -> None:
    m = create_model("resnet18", width=0.125)
    path = save_checkpoint(tmp_path / "r.pt", "classifier", "resnet18", {"num_classes": 10, "width": 0.125},
                           m.state_dict())
    with pytest.raises(NeuralensError, match=r"'resnet18'.*'vgg16'"):
        create_model("vgg16", width=0.125, pretrained=path)
    with pytest.raises(NeuralensError, match=r"do not fit architecture 'vgg16'"):
        model_from_checkpoint({**load_checkpoint(path), "arch": "vgg16"})
    # same arch, wrong width: the state_dict mismatch is reported, not a torch traceback
    with pytest.raises(NeuralensError, match="resnet18"):
        create_model("resnet18", width=0.25, pretrained=path)


def test_bad_checkpoint_files(tmp_path: Path) -> None:
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(NeuralensError, match="not a readable"):
        load_checkpoint(junk)
    other = tmp_path / "other.pt"
    torch.save({"hello": 1}, other)
    with pytest.raises(NeuralensError, match="not a neuralens checkpoint"):
        load_checkpoint(other)
    with pytest.raises(NeuralensError, match="not found"):
        load_checkpoint(tmp_path / "missing.pt")
    m = create_model("resnet18", width=0.125)
    p = save_checkpoint(tmp_path / "n.pt", "nerf", "tiny", {}, m.state_dict())
    with pytest.raises(NeuralensError, match="'nerf' checkpoint, expected a 'classifier'"):
        load_checkpoint(p, kind="classifier")


def test_bare_state_dict_is_accepted(tmp_path: Path) -> None:
    src = create_model("resnet18", width=0.125).eval()
    state = {k: v for k, v in src.state_dict().items() if not k.startswith("preprocess.")}
    torch.save(state, tmp_path / "bare.pth")
    m = create_model("resnet18", width=0.125, pretrained=tmp_path / "bare.pth").eval()
    x = torch.rand(2, 3, 32, 32)
    assert torch.equal(src(x), m(x))


def test_imagenet_weights_from_local_torch_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The torchvision path loads weights from $TORCH_HOME; here we place a file where the download would go."""
    import torchvision

    weights = torchvision.models.get_model_weights("resnet18").DEFAULT
    ref = torchvision.models.resnet18()
    ckpt_dir = tmp_path / "hub" / "checkpoints"
    ckpt_dir.mkdir(parents=True)
    torch.save(ref.state_dict(), ckpt_dir / Path(weights.url).name)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    m = create_model("resnet18", pretrained="imagenet", num_classes=10).eval()
    assert m.neuralens_arch == "tv_resnet18" and m.fc.out_features == 10
    assert torch.equal(m.conv1.weight, ref.conv1.weight)
    assert m(torch.rand(1, 3, 32, 32)).shape == (1, 10)  # resized to 224 inside


def test_imagenet_weights_offline_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import torch.hub

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))

    def no_network(*a: object, **k: object) -> None:
        raise OSError("network unreachable")

    monkeypatch.setattr(torch.hub, "download_url_to_file", no_network)
    with pytest.raises(NeuralensError, match="needs a network"):
        create_model("resnet18", pretrained="imagenet")


def test_torch_hub_local_directory(tmp_path: Path) -> None:
    repo = tmp_path / "hubrepo"
    repo.mkdir()
    (repo / "hubconf.py").write_text(
        "import torch\n"
        "dependencies = ['torch']\n"
        "def tiny_cifar(pretrained=False, **kw):\n"
        "    torch.manual_seed(0)\n"
        "    m = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 32 * 32, 10))\n"
        "    if pretrained:\n"
        "        torch.nn.init.constant_(m[1].bias, 1.0)\n"
        "    return m\n"
    )
    m = create_model("ignored", pretrained=f"hub:{repo}:tiny_cifar")
    assert torch.all(m.net[1].bias == 1.0) and m(torch.rand(2, 3, 32, 32)).shape == (2, 10)
    with pytest.raises(NeuralensError, match=r"torch\.hub could not load"):
        create_model("x", pretrained=f"hub:{repo}:no_such_entry")
    with pytest.raises(NeuralensError, match="must look like"):
        create_model("x", pretrained="hub:only-one-part")
