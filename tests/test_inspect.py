"""Gradient flow and loss landscapes against hand computation, plain evaluation and a 2-process run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from cli_driver import assert_torchrun_matches_one_process
from neuralens.cnn.gradflow import gradient_flow
from neuralens.cnn.landscape import LossAccuracy, compute_landscape, filter_normalized_direction, interpolate, sharpness
from neuralens.data.cifar import make_synthetic, to_float
from neuralens.models import create_model


def test_gradflow_matches_hand_computed_linear_softmax() -> None:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 4))
    w = net[0].weight.detach().numpy().astype(np.float64)
    b = net[0].bias.detach().numpy().astype(np.float64)
    batches = [(torch.randn(5, 3), torch.randint(0, 4, (5,))) for _ in range(2)]
    res = gradient_flow(net, batches)
    means, maxes, rms = [], [], []
    for x, y in batches:
        xn = x.numpy().astype(np.float64)
        z = xn @ w.T + b
        p = np.exp(z - z.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        delta = (p - np.eye(4)[y.numpy()]) / len(xn)  # dL/dz of the mean cross-entropy
        gw = delta.T @ xn
        means.append(np.abs(gw).mean())
        maxes.append(np.abs(gw).max())
        rms.append(np.sqrt(((delta @ w) ** 2).mean()))  # dL/dx at the block input
    layer = res["layers"][0]
    assert [entry["name"] for entry in res["layers"]] == ["0.weight"]
    assert layer["mean_abs_grad"] == pytest.approx(np.mean(means), rel=1e-5)
    assert layer["max_abs_grad"] == pytest.approx(np.mean(maxes), rel=1e-5)
    assert res["blocks"][0]["input_grad_rms"] == pytest.approx(np.mean(rms), rel=1e-5)
    assert res["batches"] == 2


def test_gradflow_lists_every_weight_in_order() -> None:
    m = create_model("resnet18", width=0.125)
    d = make_synthetic(16, 2)
    res = gradient_flow(m, [(to_float(d.x_train), d.y_train)])
    names = [n for n, p in m.named_parameters() if "weight" in n]
    assert [entry["name"] for entry in res["layers"]] == names
    assert all(entry["mean_abs_grad"] > 0 for entry in res["layers"])
    assert [blk["name"] for blk in res["blocks"]][:2] == ["conv1", "layer1.0"] and res["blocks"][-1]["name"] == "fc"


def test_filter_normalisation_gives_each_filter_the_weight_norm() -> None:
    m = create_model("vgg16_bn", width=0.125)
    d = filter_normalized_direction(m, torch.Generator().manual_seed(0))
    for (name, p), di in zip(m.named_parameters(), d):
        if p.ndim > 1:
            assert torch.allclose(di.flatten(1).norm(dim=1), p.detach().flatten(1).norm(dim=1), rtol=1e-5), name
            assert not torch.allclose(di, p.detach())
        else:
            assert torch.count_nonzero(di) == 0, name  # BN parameters and biases are not perturbed


def test_landscape_centre_is_the_models_own_loss() -> None:
    torch.manual_seed(1)
    m = create_model("vgg16_bn", width=0.125)
    d = make_synthetic(4, 64)
    x, y = to_float(d.x_test), d.y_test
    res = compute_landscape(m, x, y, steps=5, distance=0.5, progress=False)
    m.eval()
    with torch.no_grad():
        logits = m(x)
    assert res["loss"][2, 2] == pytest.approx(float(nn.functional.cross_entropy(logits, y)), rel=1e-6)
    assert res["accuracy"][2, 2] == pytest.approx(float((logits.argmax(1) == y).float().mean()))
    assert res["alphas"][2] == 0.0 and res["loss"].shape == (5, 5)
    assert np.isfinite(res["loss"]).all()
    # the model itself was not changed by walking the grid
    with torch.no_grad():
        assert torch.equal(m(x), logits)


def test_interpolation_endpoints_are_the_two_models_bn_statistics_included() -> None:
    d = make_synthetic(4, 32)
    x, y = to_float(d.x_test), d.y_test
    torch.manual_seed(0)
    a = create_model("resnet18", width=0.125).eval()
    torch.manual_seed(1)
    b = create_model("resnet18", width=0.125).eval()
    for m in b.modules():  # trained nets have BN statistics far from the defaults
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
    metric = LossAccuracy(x, y)
    curve = interpolate(a, b, metric, steps=5)
    assert curve.shape == (5, 2)
    with torch.no_grad():
        assert curve[0, 0] == pytest.approx(float(nn.functional.cross_entropy(a(x), y)), rel=1e-4)
        assert curve[-1, 0] == pytest.approx(float(nn.functional.cross_entropy(b(x), y)), rel=1e-4)
        assert curve[-1, 1] == pytest.approx(float((b(x).argmax(1) == y).float().mean()))


def test_sharpness_of_a_paraboloid() -> None:
    a = np.linspace(-1, 1, 41)
    loss = 1.0 + a[:, None] ** 2 + a[None, :] ** 2
    s = sharpness(a, a, loss)
    assert s["loss_centre"] == 1.0
    assert s["mean_rise_r0.5"] == pytest.approx(0.25, abs=0.03) and s["mean_rise_r1"] == pytest.approx(1.0, abs=0.06)


def test_two_process_grid_equals_one_process(tmp_path: Path) -> None:
    common = ["landscape", "--model", "vgg16_bn", "--width", "0.125", "--data", "synthetic", "--train-size", "8",
              "--test-size", "48", "--eval-size", "48", "--steps", "5", "--hessian-steps", "0"]
    assert_torchrun_matches_one_process(common, tmp_path, 29517)
