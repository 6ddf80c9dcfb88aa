"""A quick in-process timing of deform_conv2d against torchvision and nn.Conv2d (the demo's speed line).

Timings on a shared 2-core machine are noisy, so the three implementations are timed in turns (interleaved) for
several rounds and each is summarised by its median; the spread of the per-round speed-ups says whether the
run was too noisy to state a speed-up. The full table with peak memory is ``benchmarks/deform_conv.py``.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

import torch
import torch.nn.functional as F
import torchvision.ops as tvo

from neuralens.ops import deform_conv2d

#: repeats whose speed-ups differ by more than this factor (max/min) make the run "noisy"
NOISY_SPREAD = 1.25


def time_one_shape(n: int, c: int, size: int, repeats: int = 5) -> dict[str, Any]:
    """Forward+backward seconds of the three implementations on one 3x3 shape, ``repeats`` interleaved rounds."""
    torch.manual_seed(0)
    x = torch.randn(n, c, size, size, requires_grad=True)
    w = torch.randn(c, c, 3, 3, requires_grad=True)
    off = (torch.randn(n, 18, size, size) * 2).requires_grad_()
    fns = {"neuralens": lambda: deform_conv2d(x, off, w, padding=1),
           "torchvision": lambda: tvo.deform_conv2d(x, off, w, padding=1),
           "conv2d": lambda: F.conv2d(x, w, padding=1)}
    for fn in fns.values():  # warm-up: first calls pay for allocation and kernel selection
        fn().sum().backward()
    rounds: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn().sum().backward()
            rounds[name].append(time.perf_counter() - t0)
    per_round = [tv / ours for tv, ours in zip(rounds["torchvision"], rounds["neuralens"])]
    spread = max(per_round) / min(per_round)
    return {"shape": {"N": n, "C": c, "H": size, "W": size, "kernel": 3}, "repeats": repeats,
            "fwd_bwd_s": {k: statistics.median(v) for k, v in rounds.items()}, "rounds_s": rounds,
            "speedup_vs_torchvision": statistics.median(per_round), "speedup_per_round": per_round,
            "speedup_spread": spread, "noisy": spread > NOISY_SPREAD}
