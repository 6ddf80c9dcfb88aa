"""Run many command lines through ``neuralens.cli.main`` in one fresh interpreter (torch imported at most once),
each with its own environment overrides; report exit codes, stderr and whether torch was imported."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

DRIVER = r"""
import contextlib, io, json, os, sys
from neuralens.cli import main
out = []
for env, argv in json.loads(sys.argv[1]):
    old = dict(os.environ)
    os.environ.update(env)
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            rc = main(argv)
        except SystemExit as exc:
            rc = exc.code
    os.environ.clear()
    os.environ.update(old)
    out.append({"argv": argv, "rc": rc, "stderr": err.getvalue()[-3000:], "torch": "torch" in sys.modules})
print("RESULTS " + json.dumps(out))
"""


def run_many(jobs: list[tuple[dict[str, str], list[str]]], cwd: Path, env: dict[str, str] | None = None,
             timeout: int = 900) -> list[dict]:
    """``jobs`` of (environment overrides, argv), in order, in one process started in ``cwd``."""
    res = subprocess.run([sys.executable, "-c", DRIVER, json.dumps(jobs)], cwd=cwd, capture_output=True, text=True,
                         timeout=timeout, env={**os.environ, **(env or {})})
    assert res.returncode == 0, res.stderr[-3000:]
    results = json.loads(res.stdout.split("RESULTS ", 1)[1])
    assert len(results) == len(jobs)
    return results


def said(stderr: str) -> str:
    """A failed torchrun's stderr, cut to what tells why: the ranks' own lines come first, torchrun's summary last."""
    return stderr if len(stderr) <= 4000 else f"{stderr[:2500]}\n[...]\n{stderr[-1500:]}"


def one_and_torchrun(common: list[str], tmp_path: Path, port: int) -> tuple[Path, Path]:
    """``neuralens COMMON`` in one process (into ``tmp_path/one``) and over ``torchrun --nproc-per-node 2``
    (``tmp_path/two``, gloo); both must succeed, and under torchrun rank 0 alone reports."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    one = subprocess.run([sys.executable, "-m", "neuralens.cli", *common, "--out", str(tmp_path / "one")],
                         capture_output=True, text=True, timeout=300, env=env)
    assert one.returncode == 0, one.stderr[-2000:]
    two = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "--master-port",
                          str(port), "-m", "neuralens.cli", *common, "--out", str(tmp_path / "two")],
                         capture_output=True, text=True, timeout=300, env=env)
    assert two.returncode == 0, said(two.stderr)
    assert two.stdout.count("->") <= 1
    return tmp_path / "one", tmp_path / "two"


def assert_torchrun_matches_one_process(common: list[str], tmp_path: Path, port: int) -> None:
    """``neuralens COMMON`` in one process and over ``torchrun --nproc-per-node 2`` give the same landscape grid."""
    import numpy as np

    one_and_torchrun(common, tmp_path, port)
    a, b = np.load(tmp_path / "one" / "landscape.npz"), np.load(tmp_path / "two" / "landscape.npz")
    for k in ("alphas", "betas", "loss", "accuracy"):
        np.testing.assert_allclose(a[k], b[k], rtol=1e-6, err_msg=k)
