"""A quick in-process timing of deform_conv2d against torchvision and nn.Conv2d (the demo's speed line).

The full table with peak memory is ``benchmarks/deform_conv.py``.
"""

from __future__ import annotations

import time
from typing import Any

import torch
import torch.nn.functional as F
import torchvision.ops as tvo

from neuralens.ops import deform_conv2d


def time_one_shape(n: int, c: int, size: int, reps: int = 3) -> dict[str, Any]:
    """Best-of-``reps`` forward+backward seconds of the three implementations on one 3x3 shape."""
    torch.manual_seed(0)
    x = torch.randn(n, c, size, size, requires_grad=True)
    w = torch.randn(c, c, 3, 3, requires_grad=True)
    off = (torch.randn(n, 18, size, size) * 2).requires_grad_()
    fns = {"neuralens": lambda: deform_conv2d(x, off, w, padding=1),
           "torchvision": lambda: tvo.deform_conv2d(x, off, w, padding=1),
           "conv2d": lambda: F.conv2d(x, w, padding=1)}
    out: dict[str, Any] = {"shape": {"N": n, "C": c, "H": size, "W": size, "kernel": 3}, "fwd_bwd_s": {}}
    for name, fn in fns.items():
        fn().sum().backward()
        best = float("inf")
        for _ in range(reps):
            t0 = time.perf_counter()
            fn().sum().backward()
            best = min(best, time.perf_counter() - t0)
        out["fwd_bwd_s"][name] = best
    out["speedup_vs_torchvision"] = out["fwd_bwd_s"]["torchvision"] / out["fwd_bwd_s"]["neuralens"]
    return out
