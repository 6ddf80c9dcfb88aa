"""The loss Hessian of a model, probed through Hessian-vector products and never formed.

* top-k eigenvalues: Lanczos with full reorthogonalisation (the Ritz values of its tridiagonal matrix);
* trace: Hutchinson's estimator, E[v^T H v] over Rademacher vectors v, with its standard error;
* eigenvalue spectral density: stochastic Lanczos quadrature (Ghorbani et al. 2019): per random start vector, the
  Ritz values of an m-step Lanczos run are the nodes and the squared first components of the Ritz vectors the
  weights (PyHessian's 2024 fix, pull request 23: squares of the first component only, real parts only), smoothed
  by Gaussians; it integrates to 1;
* per-layer top eigenvalue: power iteration on each diagonal block H_ll = d^2 L / d theta_l^2, all layers in
  lockstep (one forward and first backward per step, one second backward per layer).

The loss is the mean cross-entropy over the given images in eval mode; the parameters are the perturbed ones of
the landscape study (conv/linear weights), so the numbers describe the same space the landscape planes lie in.
"""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from neuralens.core.distributed import all_reduce_sum, world
from neuralens.core.progress import Progress, progress


def perturbed(name: str, p: Tensor) -> bool:
    """The landscape study's parameter space (Li et al.): conv/linear weights, not biases or BN scale/shift."""
    return p.ndim > 1


class HessianOperator:
    """v -> H v for the mean cross-entropy of ``model`` on ``x``/``y`` w.r.t. its conv/linear weights.

    Vectors are flat float tensors of length :attr:`dim` (the weights concatenated in ``named_parameters()`` order).
    Under torchrun each process takes every world-th image and the products are summed over the processes: the
    same H v as one process on all the images (and, the Lanczos vectors being seeded alike, the same spectrum).
    """

    def __init__(self, model: nn.Module, x: Tensor, y: Tensor, batch_size: int = 256) -> None:
        self.model = copy.deepcopy(model).eval()
        self.named = [(n, p) for n, p in self.model.named_parameters() if perturbed(n, p)]
        for p in self.model.parameters():
            p.requires_grad_(False)
        for _, p in self.named:
            p.requires_grad_(True)
        self.params = [p for _, p in self.named]
        self.sizes = [p.numel() for p in self.params]
        self.dim = sum(self.sizes)
        rank, size = world()
        self.n = len(x)  # the mean is over all images, whichever process holds them
        self.x, self.y, self.batch_size = x[rank::size], y[rank::size], batch_size
        self.calls = 0

    def _split(self, v: Tensor) -> list[Tensor]:
        return [c.view_as(p) for c, p in zip(torch.split(v, self.sizes), self.params)]

    def _batches(self) -> Any:
        for i in range(0, len(self.x), self.batch_size):
            xb, yb = self.x[i:i + self.batch_size], self.y[i:i + self.batch_size]
            yield nn.functional.cross_entropy(self.model(xb), yb) * len(xb) / self.n

    def _grads(self, loss: Tensor) -> list[Tensor]:
        """dL/dW with a graph for the second derivative; a weight the forward pass leaves unused (a user's net may
        hold one) gets zeros, which is its true gradient and Hessian row."""
        grads = torch.autograd.grad(loss, self.params, create_graph=True, allow_unused=True)
        return [torch.zeros_like(p) if g is None else g for g, p in zip(grads, self.params)]

    def matvec(self, v: Tensor) -> Tensor:
        """H v (flat), summed over batches of the data."""
        self.calls += 1
        vs = self._split(v.to(self.params[0].device, self.params[0].dtype))
        out = [torch.zeros_like(p) for p in self.params]
        for loss in self._batches():
            grads = self._grads(loss)
            dot = sum((g * u).sum() for g, u in zip(grads, vs))
            for acc, h in zip(out, torch.autograd.grad(dot, self.params, allow_unused=True)):
                if h is not None:
                    acc += h
        return all_reduce_sum(torch.cat([h.reshape(-1) for h in out])).to(v.device, v.dtype)

    def block_matvecs(self, vs: list[Tensor]) -> list[Tensor]:
        """H_ll v_l for every layer l at once (the diagonal blocks), ``vs`` one tensor per layer."""
        self.calls += 1
        out = [torch.zeros_like(p) for p in self.params]
        for loss in self._batches():
            grads = self._grads(loss)
            for k, (g, u, p) in enumerate(zip(grads, vs, self.params)):
                if not g.requires_grad:  # an unused weight: its block is zero
                    continue
                (h,) = torch.autograd.grad((g * u).sum(), p, retain_graph=True, allow_unused=True)
                if h is not None:
                    out[k] += h
        return [all_reduce_sum(h) for h in out]


def lanczos(matvec: Any, dim: int, steps: int, generator: torch.Generator, dtype: torch.dtype = torch.float64,
            desc: str = "Lanczos") -> tuple[np.ndarray, np.ndarray]:
    """``steps`` Lanczos iterations from a random unit vector, fully reorthogonalised; returns the tridiagonal
    matrix's diagonal (alphas) and off-diagonal (betas). Stops early when the Krylov space is exhausted."""
    steps = min(steps, dim)
    v = torch.randn(dim, generator=generator, dtype=dtype)
    v /= v.norm()
    basis = [v]
    alphas: list[float] = []
    betas: list[float] = []
    bar = Progress(steps, desc, "hvp")
    for j in range(steps):
        w = matvec(basis[-1]).to(dtype)
        alpha = float(w @ basis[-1])
        alphas.append(alpha)
        w = w - alpha * basis[-1] - (betas[-1] * basis[-2] if betas else 0)
        for q in basis:  # full reorthogonalisation: floating point loses orthogonality within a few steps
            w = w - (w @ q) * q
        beta = float(w.norm())
        bar.update()
        if j == steps - 1 or beta < 1e-10:
            break
        betas.append(beta)
        basis.append(w / beta)
    bar.close()
    return np.array(alphas), np.array(betas)


def _tridiagonal(alphas: np.ndarray, betas: np.ndarray) -> np.ndarray:
    m = len(alphas)
    t = np.diag(alphas)
    for i, b in enumerate(betas[:m - 1]):
        t[i, i + 1] = t[i + 1, i] = b
    return t


def top_eigenvalues(op: HessianOperator, k: int = 3, steps: int = 20, seed: int = 0) -> list[float]:
    """The ``k`` largest eigenvalues (Ritz values of a ``steps``-step Lanczos run), largest first."""
    alphas, betas = lanczos(op.matvec, op.dim, max(steps, k), torch.Generator().manual_seed(seed),
                            desc="Hessian top eigenvalues")
    values = np.linalg.eigvalsh(_tridiagonal(alphas, betas))
    return [float(v) for v in values[::-1][:k]]


def hutchinson_trace(op: HessianOperator, probes: int = 20, seed: int = 0) -> dict[str, Any]:
    """tr(H) ~ mean of v^T H v over Rademacher vectors v; with the standard error of that mean."""
    g = torch.Generator().manual_seed(seed)
    values = []
    for _ in progress(range(probes), "Hessian trace probes", unit="probe"):
        v = (torch.randint(0, 2, (op.dim,), generator=g) * 2 - 1).to(torch.float64)
        values.append(float(v @ op.matvec(v).to(torch.float64)))
    arr = np.array(values)
    return {"trace": float(arr.mean()), "std_error": float(arr.std(ddof=1) / math.sqrt(len(arr))) if len(arr) > 1
            else float("nan"), "probes": probes, "seed": seed, "values": values}


def spectral_density(op: HessianOperator, steps: int = 20, runs: int = 1, seed: int = 0, points: int = 400,
                     sigma: float | None = None) -> dict[str, Any]:
    """Stochastic Lanczos quadrature: nodes, weights and the Gaussian-smoothed density on a grid.

    Per run: T = Lanczos tridiagonal of a random start vector; nodes = eigenvalues of T, weights = squared first
    components of its eigenvectors (they sum to 1). The density is the average over runs of
    sum_j w_j N(t; node_j, sigma^2); ``sigma`` defaults to 1% of the node range.
    """
    g = torch.Generator().manual_seed(seed)
    nodes, weights = [], []
    for r in range(runs):
        alphas, betas = lanczos(op.matvec, op.dim, steps, g, desc=f"spectral density, run {r + 1}/{runs}")
        values, vectors = np.linalg.eigh(_tridiagonal(alphas, betas))
        nodes.append(values.real)
        weights.append(vectors[0, :] ** 2)
    allnodes = np.concatenate(nodes)
    lo, hi = float(allnodes.min()), float(allnodes.max())
    span = max(hi - lo, 1e-12)
    sigma = sigma or 0.01 * span
    grid = np.linspace(lo - 5 * sigma, hi + 5 * sigma, points)
    density = np.zeros_like(grid)
    for nd, wt in zip(nodes, weights):
        density += (wt[None, :] * np.exp(-0.5 * ((grid[:, None] - nd[None, :]) / sigma) ** 2)).sum(1)
    density /= len(nodes) * sigma * math.sqrt(2 * math.pi)
    return {"grid": grid.tolist(), "density": density.tolist(), "sigma": sigma, "runs": runs, "steps": steps,
            "nodes": [n.tolist() for n in nodes], "weights": [w.tolist() for w in weights],
            "integral": float(np.sum((density[1:] + density[:-1]) * np.diff(grid)) / 2)}


def layer_top_eigenvalues(op: HessianOperator, iters: int = 10, seed: int = 0) -> dict[str, float]:
    """The largest-magnitude eigenvalue of each layer's diagonal block of H, by power iteration (all layers at
    once)."""
    g = torch.Generator().manual_seed(seed)
    vs = [torch.randn(p.shape, generator=g, dtype=p.dtype).to(p.device) for p in op.params]
    vs = [v / v.norm() for v in vs]
    eig = [0.0] * len(vs)
    for _ in progress(range(iters), "per-layer power iterations"):
        hv = op.block_matvecs(vs)
        eig = [float((h * v).sum()) for h, v in zip(hv, vs)]
        vs = [h / h.norm() if h.norm() > 0 else v for h, v in zip(hv, vs)]
    return {name: e for (name, _), e in zip(op.named, eig)}
