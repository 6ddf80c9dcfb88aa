"""The CLI as a user meets it: help, a small end-to-end train/eval, and one-line errors with exit code 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from neuralens.cli import build_parser, main


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "neuralens.cli", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=300)


def assert_one_line_error(res: subprocess.CompletedProcess[str], needle: str) -> None:
    assert res.returncode == 2, res.stderr
    assert "Traceback" not in res.stderr
    lines = [ln for ln in res.stderr.strip().splitlines() if ln.startswith("neuralens: error")]
    assert len(lines) == 1 and needle in lines[0], res.stderr


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    for name in sub.choices:
        assert name in out
        with pytest.raises(SystemExit):
            main([name, "--help"])
        assert "example" in capsys.readouterr().out


def test_train_then_eval_end_to_end(tmp_path: Path) -> None:
    out = tmp_path / "r18"
    res = run_cli("train", "--model", "resnet18", "--width", "0.125", "--epochs", "1", "--data", "synthetic",
                  "--train-size", "64", "--test-size", "32", "--batch-size", "32", "--out", str(out))
    assert res.returncode == 0, res.stderr
    for f in ("model.pt", "metrics.json", "config.json", "history.csv", "history.png"):
        assert (out / f).is_file(), f
    res = run_cli("eval", "--checkpoint", str(out / "model.pt"), "--test-size", "32")
    assert res.returncode == 0, res.stderr
    m = json.loads((out / "eval" / "metrics.json").read_text())
    assert set(m) >= {"accuracy", "loss", "per_class_accuracy"} and len(m["per_class_accuracy"]) == 10
    assert (out / "eval" / "confusion.png").stat().st_size > 0
    assert (out / "eval" / "predictions.png").stat().st_size > 0
    assert f"accuracy {m['accuracy']:.4f}" in res.stdout
    assert m["flip_tta"] is False
    tta = run_cli("eval", "--checkpoint", str(out / "model.pt"), "--test-size", "32", "--flip-tta",
                  "--out", str(out / "eval_tta"))
    assert tta.returncode == 0, tta.stderr
    assert json.loads((out / "eval_tta" / "metrics.json").read_text())["flip_tta"] is True


def test_bad_inputs_give_one_line_and_exit_2(tmp_path: Path) -> None:
    assert_one_line_error(run_cli("train", "--data", str(tmp_path / "missing"), "--out", str(tmp_path / "o1")),
                          "no such file")
    assert not (tmp_path / "o1").exists()
    broken = tmp_path / "broken.npz"
    broken.write_bytes(b"garbage")
    assert_one_line_error(run_cli("train", "--data", str(broken), "--out", str(tmp_path / "o2")), "cannot read")
    wrong = tmp_path / "wrong.npz"
    np.savez(wrong, x=np.zeros((8, 32, 32), np.uint8), y=np.zeros(8, int))
    assert_one_line_error(run_cli("train", "--data", str(wrong), "--out", str(tmp_path / "o3")), "shape")
    assert_one_line_error(run_cli("train", "--model", "resnet9000", "--out", str(tmp_path / "o4")), "unknown model")
    assert not (tmp_path / "o4").exists()
    assert_one_line_error(run_cli("eval", "--checkpoint", str(tmp_path / "nope.pt")), "not found")
    junk = tmp_path / "junk.pt"
    junk.write_text("not torch")
    assert_one_line_error(run_cli("eval", "--checkpoint", str(junk)), "not a PyTorch checkpoint")
    res = run_cli("train", "--width", "-1")
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert_one_line_error(run_cli("train", "--data", "synthetic", "--crop-pad", "-2", "--out", str(tmp_path / "o5")),
                          "--crop-pad")
    assert not (tmp_path / "o5").exists()


def test_inspect_commands_reject_bad_input_before_writing(tmp_path: Path) -> None:
    res = run_cli("gradflow", "--models", "vgg16,nonet", "--data", "synthetic", "--out", str(tmp_path / "g"))
    assert_one_line_error(res, "unknown model")
    assert not (tmp_path / "g").exists()
    res = run_cli("landscape", "--steps", "4", "--data", "synthetic", "--out", str(tmp_path / "l"))
    assert_one_line_error(res, "odd")
    assert not (tmp_path / "l").exists()
    res = run_cli("compare-cnn", "--landscapes", str(tmp_path / "none"), "--out", str(tmp_path / "c"))
    assert_one_line_error(res, "no landscape.npz")
