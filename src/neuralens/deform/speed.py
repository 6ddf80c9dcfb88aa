"""A quick in-process timing of deform_conv2d against torchvision and nn.Conv2d (the demo's speed line).

Timings on a shared 2-core machine are noisy, so the three implementations are timed in turns (interleaved) for
several rounds and each is summarised by its median; the spread of the per-round speed-ups says whether the
run was too noisy to state a speed-up, and the share of the CPU other processes took meanwhile whether it measured
this op at all (:mod:`neuralens.core.cpu_share`). The full table with peak memory is ``benchmarks/deform_conv.py``.
"""

from __future__ import annotations

import math
import statistics
import time
from typing import Any

import torch
import torch.nn.functional as F
import torchvision.ops as tvo

from neuralens.core.cpu_share import others_share, snapshot
from neuralens.ops import deform_conv2d

#: repeats whose speed-ups differ by more than this factor (max/min) make the run "noisy"
NOISY_SPREAD = 1.25


#: each implementation's share of a round lasts at least this long: one call of a small shape takes milliseconds,
#: where a scheduler's tick alone moves a single timing by a quarter (timeit's autorange does the same)
MIN_ROUND_S = 0.05


def time_one_shape(n: int, c: int, size: int, repeats: int = 5, min_round_s: float = MIN_ROUND_S) -> dict[str, Any]:
    """Forward+backward seconds per call of the three implementations on one 3x3 shape, ``repeats`` interleaved
    rounds of as many calls each as make the fastest deformable op's share last ``min_round_s``."""
    torch.manual_seed(0)
    x = torch.randn(n, c, size, size, requires_grad=True)
    w = torch.randn(c, c, 3, 3, requires_grad=True)
    off = (torch.randn(n, 18, size, size) * 2).requires_grad_()
    fns = {"neuralens": lambda: deform_conv2d(x, off, w, padding=1),
           "torchvision": lambda: tvo.deform_conv2d(x, off, w, padding=1),
           "conv2d": lambda: F.conv2d(x, w, padding=1)}
    first = {}
    for name, fn in fns.items():  # warm-up: first calls pay for allocation and kernel selection
        fn().sum().backward()
        t0 = time.perf_counter()
        fn().sum().backward()
        first[name] = time.perf_counter() - t0
    calls = max(1, math.ceil(min_round_s / max(min(first["neuralens"], first["torchvision"]), 1e-6)))
    rounds: dict[str, list[float]] = {name: [] for name in fns}
    cpu_before = snapshot()
    for _ in range(repeats):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            for _ in range(calls):
                fn().sum().backward()
            rounds[name].append((time.perf_counter() - t0) / calls)
    others = others_share(cpu_before, snapshot())
    per_round = [tv / ours for tv, ours in zip(rounds["torchvision"], rounds["neuralens"])]
    spread = max(per_round) / min(per_round)
    return {"shape": {"N": n, "C": c, "H": size, "W": size, "kernel": 3}, "repeats": repeats,
            "calls_per_round": calls,
            "fwd_bwd_s": {k: statistics.median(v) for k, v in rounds.items()}, "rounds_s": rounds,
            "speedup_vs_torchvision": statistics.median(per_round), "speedup_per_round": per_round,
            "speedup_spread": spread, "noisy": spread > NOISY_SPREAD, "others_cpu_share": others}
