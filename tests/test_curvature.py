"""Curvature measures against independent truth: the full Hessian by autograd, closed-form surfaces."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from neuralens.cnn.curvature import extreme_eigenvalues, moved, nonconvexity_map, roughness
from neuralens.cnn.hessian import HessianOperator
from neuralens.cnn.landscape import direction_pair


def _net() -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    return (nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 3)), torch.randn(16, 3),
            torch.randint(0, 3, (16,)))


def _full_hessian_spectrum(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Eigenvalues of the Hessian w.r.t. the weight matrices (the landscape's parameters), by autograd."""
    w1, w2 = model[0].weight.detach(), model[2].weight.detach()
    b1, b2 = model[0].bias.detach(), model[2].bias.detach()

    def loss(flat: torch.Tensor) -> torch.Tensor:
        a, b = flat[:12].view(4, 3), flat[12:].view(3, 4)
        return nn.functional.cross_entropy(torch.tanh(x @ a.T + b1) @ b.T + b2, y)

    h = torch.autograd.functional.hessian(loss, torch.cat([w1.flatten(), w2.flatten()]).double())
    return torch.linalg.eigvalsh(h)


def test_both_ends_of_the_spectrum_match_the_full_hessian() -> None:
    model, x, y = _net()
    ev = _full_hessian_spectrum(model.double(), x.double(), y)
    lo, hi = extreme_eigenvalues(HessianOperator(model.double(), x.double(), y), steps=24, seed=0)
    assert ev[0] < 0 < ev[-1]  # a tanh net: not convex in its weights
    assert abs(lo - float(ev[0])) < 1e-8 and abs(hi - float(ev[-1])) < 1e-8


def test_the_nonconvexity_map_is_the_eigenvalue_ratio_where_the_plane_puts_the_net() -> None:
    model, x, y = _net()
    model, x = model.double(), x.double()
    d1, d2 = direction_pair(model, "filter", 0)
    grid = nonconvexity_map(model, x, y, d1, d2, np.array([-0.5, 0.0, 0.5]), steps=24)
    ev = _full_hessian_spectrum(moved(model, d1, d2, 0.5, -0.5), x, y)
    assert grid.shape == (3, 3) and abs(grid[2, 0] - abs(float(ev[0] / ev[-1]))) < 1e-7
    ev0 = _full_hessian_spectrum(model, x, y)
    assert abs(grid[1, 1] - abs(float(ev0[0] / ev0[-1]))) < 1e-7


def test_roughness_is_zero_for_any_quadratic_and_grows_with_ripples() -> None:
    c = np.linspace(-1, 1, 9)
    a, b = np.meshgrid(c, c, indexing="ij")
    assert roughness(c, c, 2 * a * a + b * b + 0.3 * a * b - a + 1) < 1e-12
    assert roughness(c, c, a * a - b * b) < 1e-12  # a saddle is smooth too
    ripples = [roughness(c, c, a * a + b * b + k * np.sin(9 * a) * np.cos(7 * b)) for k in (0.05, 0.2, 0.5)]
    assert 0 < ripples[0] < ripples[1] < ripples[2]
    assert roughness(c, c, 5 * (a * a + b * b) + 0.2 * np.sin(9 * a)) < roughness(c, c, a * a + 0.2 * np.sin(9 * a))
