"""Studying the user's own classifier: model specs, published checkpoint formats, normalisation, clear errors.

The two public CIFAR architectures below are written from their published definitions (kuangliu/pytorch-cifar's
``ResNet18()`` and ``VGG('VGG16')``) in this file's own code; their random weights are saved the way that
repository saves them (``{'net': state_dict, 'acc', 'epoch'}`` with DataParallel's ``module.`` prefixes).
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from neuralens.cli import main
from neuralens.core.errors import NeuralensError
from neuralens.models import build_model, parse_model_spec

KUANGLIU_NORM = "0.4914,0.4822,0.4465/0.2023,0.1994,0.2010"


class KBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


class KResNet18(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        cin, layers = 64, []
        for cout, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
            layers.append(nn.Sequential(KBlock(cin, cout, stride), KBlock(cout, cout, 1)))
            cin = cout
        self.layer1, self.layer2, self.layer3, self.layer4 = layers
        self.linear = nn.Linear(512, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.layer4(self.layer3(self.layer2(self.layer1(out))))
        return self.linear(F.avg_pool2d(out, 4).flatten(1))


class KVGG16(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        cin = 3
        for v in [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]:
            if v == "M":
                layers.append(nn.MaxPool2d(2, 2))
            else:
                layers += [nn.Conv2d(cin, v, 3, padding=1), nn.BatchNorm2d(v), nn.ReLU(inplace=True)]
                cin = v
        layers.append(nn.AvgPool2d(1, 1))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(512, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x).flatten(1))


def _randomise(model: nn.Module) -> nn.Module:
    """Random weights and BN statistics, so a wrong mapping cannot pass by accident."""
    torch.manual_seed(0)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
            elif isinstance(m, nn.Conv2d) and m.bias is not None:
                m.bias.uniform_(-0.1, 0.1)
    return model.eval()


def _save_kuangliu(model: nn.Module, path: Path) -> Path:
    torch.save({"net": {f"module.{k}": v for k, v in model.state_dict().items()}, "acc": 93.0, "epoch": 199}, path)
    return path


def _normalised(x: torch.Tensor) -> torch.Tensor:
    mean = torch.tensor([0.4914, 0.4822, 0.4465]).view(1, 3, 1, 1)
    std = torch.tensor([0.2023, 0.1994, 0.2010]).view(1, 3, 1, 1)
    return (x - mean) / std


@pytest.mark.parametrize(("ref_cls", "ours"), [(KResNet18, "resnet18"), (KVGG16, "vgg16_bn_bias")])
def test_kuangliu_checkpoints_load_into_our_registry_nets(tmp_path: Path, ref_cls: type, ours: str) -> None:
    ref = _randomise(ref_cls())
    path = _save_kuangliu(ref, tmp_path / "ckpt.pth")
    model = build_model(ours, weights=str(path), normalize=KUANGLIU_NORM).eval()
    x = torch.rand(3, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(model(x), ref(_normalised(x)), atol=1e-4, rtol=1e-4)


def test_vgg16_bn_points_to_the_conv_bias_variant(tmp_path: Path) -> None:
    path = _save_kuangliu(_randomise(KVGG16()), tmp_path / "vgg.pth")
    with pytest.raises(NeuralensError, match=r"unexpected features\.0\.bias.*use --model vgg16_bn_bias"):
        build_model("vgg16_bn", weights=str(path))


def _user_repo(tmp_path: Path) -> Path:
    """A user's own code: a model file that imports a sibling module, and a wrapped checkpoint for it."""
    repo = tmp_path / "their_repo"
    repo.mkdir()
    (repo / "blocks.py").write_text(
        "import torch.nn as nn\n\n"
        "def head(c):\n    return nn.Linear(c, 10)\n")
    (repo / "net.py").write_text(
        "import torch.nn as nn\nfrom blocks import head\n\n"
        "class Tiny(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.conv = nn.Conv2d(3, 8, 3, padding=1)\n"
        "        self.fc = head(8)\n"
        "    def forward(self, x):\n"
        "        return self.fc(self.conv(x).relu().mean((2, 3)))\n\n"
        "def tiny():\n    return Tiny()\n\n"
        "def not_a_model():\n    return 42\n")
    return repo


def test_a_model_file_and_a_wrapped_checkpoint(tmp_path: Path) -> None:
    repo = _user_repo(tmp_path)
    spec = f"{repo / 'net.py'}:tiny"
    torch.manual_seed(1)
    reference = build_model(spec, normalize="none").eval()
    state = {f"module.{k}": v for k, v in reference.state_dict().items() if not k.startswith("preprocess.")}
    torch.save({"state_dict": state, "best_prec1": 50.0}, repo / "ckpt.th")
    torch.manual_seed(2)
    loaded = build_model(spec, weights=str(repo / "ckpt.th"), normalize="imagenet").eval()
    x = torch.rand(2, 3, 32, 32)
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), reference((x - mean) / std))
    assert loaded.neuralens_spec == {"model": spec, "weights": str(repo / "ckpt.th"), "normalize": "imagenet"}
    assert parse_model_spec(spec).slug == "net.py_tiny"


def _cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(argv))
        except SystemExit as exc:
            code = int(exc.code or 0)
    return code, out.getvalue(), err.getvalue()


def test_eval_gradflow_landscape_study_a_user_model_from_the_command_line(tmp_path: Path) -> None:
    repo = _user_repo(tmp_path)
    spec = f"{repo / 'net.py'}:tiny"
    torch.manual_seed(1)
    torch.save(build_model(spec).state_dict(), repo / "weights.pt")
    data = ["--data", "synthetic", "--train-size", "64", "--test-size", "32"]
    common = ["--model", spec, "--weights", str(repo / "weights.pt"), "--normalize", "cifar"]
    code, out, err = _cli("eval", *common, *data, "--out", str(tmp_path / "eval"))
    assert code == 0, err
    metrics = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert 0.0 <= metrics["accuracy"] <= 1.0 and len(metrics["per_class_accuracy"]) == 10
    assert (metrics["model"], metrics["normalize"]) == (spec, "cifar")
    assert f"accuracy {metrics['accuracy']:.4f}" in out
    code, _, err = _cli("gradflow", *common, *data, "--batches", "1", "--batch-size", "32", "--out",
                        str(tmp_path / "gf"))
    assert code == 0, err
    gf = json.loads((tmp_path / "gf" / "gradflow.json").read_text())
    assert set(gf["models"]) == {"net.py_tiny@init", "net.py_tiny"}
    assert gf["specs"]["net.py_tiny"]["weights"] == str(repo / "weights.pt")
    assert gf["models"]["net.py_tiny"]["block_rule"].startswith("no residual blocks")
    assert all(p.parent == tmp_path / "gf" for p in (tmp_path / "gf").rglob("*"))  # flat, sanitised names
    code, _, err = _cli("landscape", *common, *data, "--steps", "3", "--eval-size", "32", "--hessian-steps", "0",
                        "--out", str(tmp_path / "land"))
    assert code == 0, err
    meta = json.loads((tmp_path / "land" / "landscape.json").read_text())
    assert meta["spec"] == spec and meta["normalize"] == "cifar"
    own = json.loads((tmp_path / "eval" / "metrics.json").read_text())["loss"]
    assert meta["sharpness"]["loss_centre"] == pytest.approx(own, rel=1e-5)  # centre = the model itself


@pytest.mark.parametrize(("argv", "needle"), [
    (["--model", "resnet9000"], "unknown model"),
    (["--model", "missing.py:net"], "no such file"),
    (["--model", "REPO/net.py:nope"], "defines no 'nope'"),
    (["--model", "REPO/net.py:not_a_model"], "not an nn.Module"),
    (["--model", "REPO/net.py:1bad"], "not a Python name"),
    (["--model", "hub:only-two"], "hub:OWNER/REPO:ENTRY"),
    (["--model", "resnet18", "--normalize", "0.5,0.5/1,1,1"], "--normalize"),
    (["--model", "resnet18", "--weights", "REPO/net.py"], "not a PyTorch checkpoint"),
    (["--model", "resnet18", "--weights", "REPO/tensors.pt"], "weights do not fit 'resnet18': missing"),
    (["--model", "REPO/net.py:tiny", "--weights", "imagenet"], "needs a torchvision architecture"),
])
def test_bad_specs_and_weights_are_one_line(tmp_path: Path, argv: list[str], needle: str) -> None:
    repo = _user_repo(tmp_path)
    torch.save({"conv.weight": torch.zeros(8, 3, 3, 3)}, repo / "tensors.pt")
    argv = [a.replace("REPO", str(repo)) for a in argv]
    code, _, err = _cli("eval", *argv, "--data", "synthetic", "--test-size", "8", "--train-size", "8",
                        "--out", str(tmp_path / "o"))
    lines = [ln for ln in err.splitlines() if ln.startswith("neuralens: ")]
    assert code == 2 and len(lines) == 1 and needle in lines[0], err
    assert not (tmp_path / "o").exists()


def test_the_demo_studies_two_user_models_and_the_report_names_them(tmp_path: Path) -> None:
    repo = _user_repo(tmp_path)
    spec = f"{repo / 'net.py'}:tiny"
    torch.save(build_model(spec).state_dict(), repo / "w.pt")
    out = tmp_path / "demo"
    code, _, err = _cli("demo", "--quick", "--only", "cnn,gradflow,landscape", "--models", f"{spec},plain18",
                        "--weights", f"{repo / 'w.pt'},", "--normalize", "imagenet", "--out", str(out))
    assert code == 0, err
    summary = json.loads((out / "cnn" / "summary.json").read_text())
    assert [m["model"] for m in summary["models"]] == ["net.py_tiny", "plain18"]
    assert summary["models"][0]["weights"] == str(repo / "w.pt") and summary["models"][1]["normalize"] == "imagenet"
    assert not (out / "cnn" / "resnet18").exists()  # nothing of ours was trained
    sentences = json.loads((out / "landscape" / "compare.json").read_text())["sentences"]
    assert any("net.py_tiny" in s and "plain18" in s for s in sentences)
    html = (out / "report.html").read_text()
    assert str(repo / "w.pt") in html and "imagenet" in html
    code, _, err = _cli("demo", "--models", "resnet18", "--out", str(tmp_path / "d2"))
    assert code == 2 and "two model specs" in err and not (tmp_path / "d2").exists()
