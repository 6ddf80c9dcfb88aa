"""Shared fixtures: small generated data only; nothing here needs ../shared/data or a network."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

XDIST_WORKER = bool(os.environ.get("PYTEST_XDIST_WORKER"))
if XDIST_WORKER:  # one thread per worker (and its subprocesses): the workers share the cores
    os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = "1"

import torch  # noqa: E402  (after the thread count is set)

torch.set_num_threads(1 if XDIST_WORKER else min(2, os.cpu_count() or 1))

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture()
def tiny_npz(tmp_path: Path) -> Path:
    """A 60-image npz in the x/y layout of ../shared/data/cifar10 (random pixels, balanced labels)."""
    rng = np.random.default_rng(0)
    path = tmp_path / "tiny.npz"
    np.savez(path, x=rng.integers(0, 256, (60, 32, 32, 3), dtype=np.uint8), y=np.arange(60) % 10)
    return path
