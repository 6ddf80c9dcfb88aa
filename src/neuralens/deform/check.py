"""Our ``deform_conv2d`` against ``torchvision.ops.deform_conv2d`` on random geometries: the exactness claim."""

from __future__ import annotations

from typing import Any

import torch
import torchvision.ops as tvo

from neuralens.ops import deform_conv2d

#: the largest difference (float32, outputs and every gradient) that still counts as agreement
TOLERANCE = 1e-4


def check_against_torchvision(n_cases: int = 12, seed: int = 0) -> list[dict[str, Any]]:
    """Random shapes (groups, offset groups, stride, padding, dilation, mask): max |ours - torchvision| for the
    output and every gradient, in float32."""
    g = torch.Generator().manual_seed(seed)

    def r(lo: int, hi: int) -> int:
        return int(torch.randint(lo, hi + 1, (1,), generator=g))

    rows = []
    for case in range(n_cases):
        groups, og = r(1, 2), r(1, 2)
        c_in, c_out = 4 * groups * og, 2 * groups * r(1, 3)
        k, s, p, d = r(1, 3), r(1, 2), r(0, 2), r(1, 2)
        h = w = r(d * (k - 1) + 1, 12)
        n = r(1, 3)
        ho = (h + 2 * p - d * (k - 1) - 1) // s + 1
        x = torch.randn(n, c_in, h, w, generator=g, requires_grad=True)
        off = (torch.randn(n, 2 * og * k * k, ho, ho, generator=g) * 2.5 + 0.01).requires_grad_()
        wt = torch.randn(c_out, c_in // groups, k, k, generator=g, requires_grad=True)
        b = torch.randn(c_out, generator=g, requires_grad=True)
        m = torch.rand(n, og * k * k, ho, ho, generator=g, requires_grad=True) if case % 2 else None
        ins = [t for t in (x, off, wt, b, m) if t is not None]
        ours = deform_conv2d(x, off, wt, b, s, p, d, mask=m)
        ref = tvo.deform_conv2d(x, off, wt, b, s, p, d, mask=m)
        go = torch.randn_like(ref)
        g1, g2 = torch.autograd.grad(ours, ins, go), torch.autograd.grad(ref, ins, go)
        rows.append({"shape": f"N{n} C{c_in}->{c_out} {h}x{w} k{k} s{s} p{p} d{d} g{groups} og{og}"
                              f"{' mask' if m is not None else ''}",
                     "max_abs_diff_output": float((ours - ref).detach().abs().max()),
                     "max_abs_diff_grads": max(float((a - c).abs().max()) for a, c in zip(g1, g2))})
    return rows


def worst_difference(rows: list[dict[str, Any]]) -> float:
    return max(max(r["max_abs_diff_output"], r["max_abs_diff_grads"]) for r in rows)


def check_report(n_cases: int = 12, seed: int = 0) -> dict[str, Any]:
    """``check.json``'s content: every case and the worst difference."""
    rows = check_against_torchvision(n_cases, seed)
    return {"cases": rows, "worst": worst_difference(rows)}
