"""The Hessian probes against the exact Hessian of a model small enough for torch.autograd.functional.hessian:
top-3 eigenvalues within 1%, Hutchinson's trace within 5%, a density that integrates to 1, per-layer blocks."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn
from torch.func import functional_call

from neuralens.cnn.hessian import (
    HessianOperator,
    hutchinson_trace,
    layer_top_eigenvalues,
    spectral_density,
    top_eigenvalues,
)


class Tiny(nn.Module):
    """A conv, BN (not perturbed), ReLU and a linear head: 2*3*3*3 + 10*2*4*4 = 374 perturbed weights."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 2, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(2)
        self.fc = nn.Linear(2 * 4 * 4, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.relu(self.bn(self.conv(x))).flatten(1))


@pytest.fixture(scope="module")
def setup() -> tuple[HessianOperator, np.ndarray, list[int]]:
    torch.manual_seed(0)
    model = Tiny().double().eval()
    x, y = torch.randn(40, 3, 4, 4, dtype=torch.float64), torch.arange(40) % 10
    op = HessianOperator(model, x, y, batch_size=16)  # batches summed: must equal the full-batch Hessian
    names = [n for n, _ in op.named]
    base = dict(model.named_parameters())

    def loss(flat: torch.Tensor) -> torch.Tensor:
        params = dict(base)
        i = 0
        for n, p in op.named:
            params[n] = flat[i:i + p.numel()].view_as(p)
            i += p.numel()
        return nn.functional.cross_entropy(functional_call(model, params, (x,)), y)

    flat = torch.cat([base[n].detach().reshape(-1) for n in names])
    exact = torch.autograd.functional.hessian(loss, flat).numpy()
    return op, exact, [p.numel() for _, p in op.named]


def test_hvp_equals_the_exact_hessian_times_v(setup: tuple) -> None:
    op, exact, _ = setup
    v = torch.randn(op.dim, dtype=torch.float64)
    np.testing.assert_allclose(op.matvec(v).numpy(), exact @ v.numpy(), rtol=1e-8, atol=1e-10)


def test_top_three_eigenvalues_within_one_percent(setup: tuple) -> None:
    op, exact, _ = setup
    want = np.sort(np.linalg.eigvalsh(exact))[::-1][:3]
    got = top_eigenvalues(op, k=3, steps=60, seed=1)
    np.testing.assert_allclose(got, want, rtol=0.01)


def test_hutchinson_trace_within_five_percent(setup: tuple) -> None:
    op, exact, _ = setup
    est = hutchinson_trace(op, probes=300, seed=2)
    assert est["trace"] == pytest.approx(np.trace(exact), rel=0.05)
    assert abs(est["trace"] - np.trace(exact)) < 4 * est["std_error"]


def test_spectral_density_integrates_to_one_and_its_weights_are_squared_first_components(setup: tuple) -> None:
    op, exact, _ = setup
    esd = spectral_density(op, steps=30, runs=2, seed=3)
    assert esd["integral"] == pytest.approx(1.0, abs=0.01)
    for w in esd["weights"]:
        assert sum(w) == pytest.approx(1.0, abs=1e-9) and min(w) >= 0
    # the nodes reach the extreme eigenvalues (Lanczos converges there first)
    assert max(max(n) for n in esd["nodes"]) == pytest.approx(np.linalg.eigvalsh(exact).max(), rel=0.01)


def test_per_layer_top_eigenvalues_are_those_of_the_diagonal_blocks(setup: tuple) -> None:
    op, exact, sizes = setup
    got = layer_top_eigenvalues(op, iters=200, seed=4)
    start = 0
    for (name, _), n in zip(op.named, sizes):
        block = exact[start:start + n, start:start + n]
        start += n
        assert got[name] == pytest.approx(np.abs(np.linalg.eigvalsh(block)).max(), rel=0.01), name
