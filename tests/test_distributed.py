"""``torchrun --nproc-per-node 2`` (gloo on CPU) against one process: training with DistributedDataParallel and
global-batch batch norm follows the one-process loss curve; the Hessian's products summed over data shards give
the one-process eigenvalues, trace and per-layer tops; every process leaves its group before it exits."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cli_driver import one_and_torchrun, said
from neuralens.models import load_checkpoint


def test_two_processes_train_as_one(tmp_path: Path, tiny_npz: Path) -> None:
    one, two = one_and_torchrun(["train", "--model", "resnet8", "--width", "0.5", "--epochs", "2",
                                 "--steps-per-epoch", "3", "--batch-size", "16", "--precision", "fp32", "--data",
                                 str(tiny_npz), "-q"], tmp_path, 29641)
    rows = [list(csv.DictReader((d / "history.csv").open())) for d in (one, two)]
    for a, b in zip(*rows):  # (batch norm local to each process's 8 images moves the training loss by 6e-4)
        for k in ("train_loss", "train_acc", "test_loss", "test_acc"):
            assert float(a[k]) == pytest.approx(float(b[k]), rel=1e-4, abs=1e-6), k
    sa, sb = (load_checkpoint(d / "model.pt")["state_dict"] for d in (one, two))
    assert sa.keys() == sb.keys()  # global-batch batch norm keeps BatchNorm2d's keys


def test_two_processes_give_the_hessian_of_one(tmp_path: Path, tiny_npz: Path) -> None:
    one, two = one_and_torchrun(["hessian", "--model", "resnet8", "--width", "0.5", "--data", str(tiny_npz),
                                 "--eval-size", "10", "--top-k", "2", "--lanczos-steps", "6", "--trace-probes", "2",
                                 "--probe-seeds", "1", "--layer-iters", "2", "-q"], tmp_path, 29642)
    a, b = (json.loads((d / "hessian.json").read_text()) for d in (one, two))
    np.testing.assert_allclose(a["top_eigenvalues"]["per_seed"], b["top_eigenvalues"]["per_seed"], rtol=1e-5)
    np.testing.assert_allclose(a["trace"]["per_seed"], b["trace"]["per_seed"], rtol=1e-5)
    np.testing.assert_allclose(list(a["layers"].values()), list(b["layers"].values()), rtol=1e-4)


LEAVES = """
import atexit, os, pathlib, torch, torch.distributed as dist
def report():  # registered first, so it runs after neuralens's own exit handler
    pathlib.Path(f"rank{os.environ['RANK']}").write_text(f"joined at finalization: {dist.is_initialized()}")
atexit.register(report)
from neuralens.core.distributed import all_reduce_sum
assert all_reduce_sum(torch.ones(1)).item() == 2
"""


def test_every_process_leaves_its_group_before_the_interpreter_finalizes(tmp_path: Path) -> None:
    """A gloo group alive at finalization aborted its process in up to half the runs; the exit must destroy it."""
    (tmp_path / "leaves.py").write_text(LEAVES)
    res = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "--master-port",
                          "29644", "leaves.py"], capture_output=True, text=True, timeout=120, cwd=tmp_path,
                         env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert res.returncode == 0, said(res.stderr)
    for rank in (0, 1):
        assert (tmp_path / f"rank{rank}").read_text() == "joined at finalization: False"


def test_a_batch_that_does_not_split_evenly_is_refused(tmp_path: Path, tiny_npz: Path) -> None:
    res = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "--master-port",
                          "29643", "-m", "neuralens.cli", "train", "--model", "resnet8", "--batch-size", "15",
                          "--epochs", "1", "--data", str(tiny_npz), "--out", str(tmp_path / "o"), "-q"],
                         capture_output=True, text=True, timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert res.returncode != 0 and "--batch-size 15 does not divide among 2 processes" in res.stderr
