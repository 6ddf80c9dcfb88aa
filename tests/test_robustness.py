"""Issue 16's families: checkpoints never run code, rejected commands never touch a run, exact resume after a
real Ctrl-C, children die with their parent, numerics at the edges, and a fuzz of malformed inputs."""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import neuralens.models.train as train_mod
from neuralens.cli import main
from neuralens.core.checkpoint import FORMAT, load_checkpoint
from neuralens.core.errors import NeuralensError
from neuralens.core.io import run_folder
from neuralens.data.cifar import make_synthetic
from neuralens.models.train import TrainConfig, train
from neuralens.nerf.rendering import volume_render
from neuralens.ops import deform_conv2d


def cli(*argv: str) -> tuple[int, str]:
    """Run the CLI in-process; (exit code, stderr)."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            code = main(list(argv))
        except SystemExit as exc:  # argparse's own exit
            code = int(exc.code or 0)
    return code, err.getvalue()


def assert_rejected(code: int, err: str, needle: str = "") -> None:
    lines = [ln for ln in err.splitlines() if ln.startswith("neuralens: ")]
    assert code == 2, err
    assert len(lines) == 1 and lines[0].startswith("neuralens: error: ") and needle in lines[0], err
    assert "Traceback" not in err and "internal error" not in err


class _Planted:
    """Unpickling this would create a file: proof that code ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (Path.touch, (self.marker,))


def test_a_malicious_checkpoint_never_runs(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.pt"
    torch.save({"format": FORMAT, "kind": "classifier", "arch": "resnet18", "config": {},
                "state_dict": {}, "x": _Planted(marker)}, evil)
    planted_run = tmp_path / "run"
    planted_run.mkdir()
    (planted_run / "model.pt").write_bytes(evil.read_bytes())
    data = ["--data", "synthetic", "--train-size", "32", "--test-size", "16"]
    for argv in (["eval", "--checkpoint", str(evil), *data],
                 ["nerf", "eval", "--checkpoint", str(evil), "--scene", "builtin:8"],
                 ["train", "--pretrained", str(evil), "--batch-size", "16", "--out", str(tmp_path / "t"), *data],
                 ["train", "--resume", "--batch-size", "16", "--out", str(planted_run), *data],
                 ["landscape", "--checkpoint", str(evil), "--out", str(tmp_path / "l"), *data]):
        code, err = cli(*argv)
        assert_rejected(code, err, "could run code")
        assert not marker.exists(), argv
    assert not (tmp_path / "t").exists() and not (tmp_path / "l").exists()
    assert sorted(p.name for p in planted_run.iterdir()) == ["model.pt"]


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "r"
    code, err = cli("train", "--model", "resnet18", "--width", "0.125", "--epochs", "1", "--batch-size", "16",
                    "--data", "synthetic", "--train-size", "32", "--test-size", "16", "--out", str(out))
    assert code == 0, err
    return out


def test_rejected_commands_leave_a_finished_run_untouched(finished_run: Path, tmp_path: Path) -> None:
    before = {p.name: p.read_bytes() for p in finished_run.iterdir() if p.is_file()}
    data = ["--data", "synthetic", "--train-size", "32", "--test-size", "16"]
    assert_rejected(*cli("train", "--batch-size", "1024", "--width", "0.125", "--out", str(finished_run), *data),
                    "--batch-size 1024")
    assert_rejected(*cli("train", "--resume", "--width", "0.25", "--batch-size", "16", "--out", str(finished_run),
                         *data), "width")
    assert_rejected(*cli("train", "--resume", "--width", "0.125", "--epochs", "1", "--batch-size", "16", "--data",
                         "synthetic", "--train-size", "48", "--test-size", "16", "--out", str(finished_run)), "n_train")
    after = {p.name: p.read_bytes() for p in finished_run.iterdir() if p.is_file()}
    assert after == before
    # a new folder is never created by a rejected command
    assert_rejected(*cli("train", "--batch-size", "1024", "--out", str(tmp_path / "new"), *data))
    assert not (tmp_path / "new").exists()
    # --out naming a file
    f = tmp_path / "file.txt"
    f.write_text("x")
    assert_rejected(*cli("gradflow", "--out", str(f), *data), "is a file")


def test_a_second_command_on_a_busy_run_folder_is_refused(tmp_path: Path) -> None:
    data = ["--data", "synthetic", "--train-size", "32", "--test-size", "16"]
    with run_folder(tmp_path / "busy", {"holder": True}):
        assert_rejected(*cli("train", "--batch-size", "16", "--width", "0.125", "--out", str(tmp_path / "busy"),
                             *data), "another neuralens command")
    assert json.loads((tmp_path / "busy" / "config.json").read_text())["args"] == {"holder": True}


def _cfg(**kw: object) -> TrainConfig:
    base = dict(model="resnet18", width=0.125, epochs=2, batch_size=16, lr=0.05, seed=1, device="cpu",
                channels_last=False, precision="fp32")
    return TrainConfig(**{**base, **kw})


def test_a_real_ctrl_c_resumes_exactly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = make_synthetic(64, 16, seed=0)
    full = train(_cfg(), data, tmp_path / "full", log=lambda m: None)
    real, calls = train_mod.augment_batch, {"n": 0}

    def ctrl_c_mid_step(*a: object, **k: object) -> torch.Tensor:
        calls["n"] += 1
        if calls["n"] == 6:  # second epoch, second step: SIGINT arrives while the step runs
            signal.raise_signal(signal.SIGINT)
        return real(*a, **k)

    monkeypatch.setattr(train_mod, "augment_batch", ctrl_c_mid_step)
    with pytest.raises(KeyboardInterrupt):
        train(_cfg(), data, tmp_path / "cut", log=lambda m: None)
    state = load_checkpoint(tmp_path / "cut" / "model.pt")["train_state"]
    assert (state["epoch"], state["step"]) == (1, 2)  # the running step finished first
    monkeypatch.setattr(train_mod, "augment_batch", real)
    resumed = train(_cfg(), data, tmp_path / "cut", resume=True, log=lambda m: None)
    a = load_checkpoint(tmp_path / "full" / "model.pt")["state_dict"]
    b = load_checkpoint(tmp_path / "cut" / "model.pt")["state_dict"]
    for k in a:
        assert torch.equal(a[k], b[k]), k  # weights and BatchNorm statistics, bit for bit
    assert resumed["history"][-1]["train_loss"] == pytest.approx(full["history"][-1]["train_loss"], rel=1e-6)
    assert resumed["loss"] == full["loss"]


def test_children_die_with_their_parent(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    parent = subprocess.Popen([sys.executable, "-c", (
        "import subprocess, sys, time\n"
        "from neuralens.core.runtime import die_with_parent\n"
        "c = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'], preexec_fn=die_with_parent)\n"
        f"open({str(pid_file)!r}, 'w').write(str(c.pid))\n"
        "time.sleep(60)\n")])
    deadline = time.time() + 30
    while not (pid_file.is_file() and pid_file.read_text()) and time.time() < deadline:
        time.sleep(0.1)
    child = int(pid_file.read_text())
    parent.kill()
    parent.wait()
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            return
        with contextlib.suppress(ChildProcessError):
            os.waitpid(child, os.WNOHANG)
        time.sleep(0.1)
    os.kill(child, signal.SIGKILL)
    pytest.fail("the child outlived its killed parent")


def test_deform_conv2d_at_the_edges() -> None:
    import torchvision.ops as tvo

    torch.manual_seed(0)
    x, w = torch.randn(1, 2, 5, 5), torch.randn(3, 2, 3, 3)
    for value in (float("inf"), float("-inf"), 1e30):
        off = torch.zeros(1, 18, 3, 3)
        off[0, 0, 1, 1] = value
        torch.testing.assert_close(deform_conv2d(x, off, w), tvo.deform_conv2d(x, off, w), atol=1e-5, rtol=1e-5)
    off = torch.zeros(1, 18, 3, 3, requires_grad=True)
    nan = off.detach().clone()
    nan[0, 0, 1, 1] = float("nan")
    out = deform_conv2d(x, nan.requires_grad_(), w)
    out.sum().backward()
    assert torch.isfinite(out).all() and torch.isfinite(nan.grad).all()
    # the NaN tap samples nothing: the same as a tap pushed far outside the image
    far = nan.detach().nan_to_num(nan=-1e6)
    torch.testing.assert_close(out.detach(), deform_conv2d(x, far, w))
    empty = deform_conv2d(torch.randn(0, 2, 5, 5), torch.zeros(0, 18, 3, 3), w)
    assert empty.shape == tvo.deform_conv2d(torch.randn(0, 2, 5, 5), torch.zeros(0, 18, 3, 3), w).shape
    with pytest.raises(ValueError, match="floating-point"):
        deform_conv2d(torch.ones(1, 2, 5, 5, dtype=torch.long), torch.zeros(1, 18, 3, 3), w)


def test_volume_render_learns_from_zero_density_and_checks_packing() -> None:
    sigma = torch.zeros(1, 4, requires_grad=True)
    t = torch.linspace(2.0, 6.0, 4)[None]
    volume_render(sigma, torch.full((1, 4, 3), 0.5), t, background=0.0)["rgb"].sum().backward()
    # dC/dsigma_0 at sigma = 0: delta_0 * (c_0 - C_behind) = (4/3) * 0.5 per channel (nothing behind on black),
    # summed over the three channels
    assert sigma.grad[0, 0].item() == pytest.approx(3 * 4 / 3 * 0.5, rel=1e-5)
    with pytest.raises(ValueError, match="sorted"):
        volume_render(torch.ones(3), torch.ones(3, 3), torch.tensor([1.0, 2.0, 3.0]), torch.ones(3),
                      ray_indices=torch.tensor([1, 0, 1]), n_rays=2)


# ------------------------------------------------------------------------------------------------ fuzz
BAD_NUMBERS = st.sampled_from(["0", "-1", "-5", "inf", "-inf", "nan", "1e999", "abc", "", "2.5x"])
NUMERIC_FLAGS = [
    (["train", "--data", "synthetic"], "--width"), (["train", "--data", "synthetic"], "--epochs"),
    (["train", "--data", "synthetic"], "--batch-size"), (["train", "--data", "synthetic"], "--lr"),
    (["train", "--data", "synthetic"], "--train-size"), (["nerf", "train"], "--iters"),
    (["nerf", "train"], "--seconds"), (["nerf", "train"], "--lr"), (["nerf", "train"], "--width"),
    (["nerf", "train"], "--samples"), (["nerf", "train"], "--downscale"), (["nerf", "compare"], "--seconds"),
    (["landscape", "--data", "synthetic"], "--distance"), (["landscape", "--data", "synthetic"], "--steps"),
    (["gradflow", "--data", "synthetic"], "--batches"), (["deform", "experiment"], "--epochs"),
    (["nerf", "render", "--checkpoint", "x.pt", "--orbit"], "--frames"),
    (["nerf", "render", "--checkpoint", "x.pt", "--orbit"], "--fps"),
    (["nerf", "render", "--checkpoint", "x.pt", "--orbit"], "--size"),
]
FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FUZZ
@given(which=st.sampled_from(NUMERIC_FLAGS), value=BAD_NUMBERS)
def test_fuzz_numeric_options(tmp_path: Path, which: tuple[list[str], str], value: str) -> None:
    prefix, flag = which
    if value == "-1" and flag in ("--lr",):
        value = "-1.0"
    out = tmp_path / "out_numbers"
    code, err = cli(*prefix, flag, value, "--out", str(out))
    assert_rejected(code, err)
    assert not out.exists()


@st.composite
def broken_scene(draw: st.DrawFn) -> dict[str, object]:
    """A tiny_nerf npz with at least one defect."""
    n = draw(st.sampled_from([0, 3]))
    arrays: dict[str, object] = {
        "images": np.full((n, 8, 8, 3), 0.5, np.float32),
        "poses": np.tile(np.eye(4, dtype=np.float32), (n, 1, 1)) + np.array([0, 0, 0, 0], np.float32),
        "focal": np.float64(10.0),
    }
    arrays["poses"][:, 2, 3] = 4.0
    defects = draw(st.lists(st.sampled_from([
        "no_images", "no_poses", "no_focal", "empty_focal", "nan_focal", "neg_focal", "string_focal", "rgba",
        "too_bright", "nan_image", "pose_3x3", "pose_sheared", "pose_count", "test_empty", "test_999",
        "test_negative", "near_gt_far", "near_negative", "string_poses"]), min_size=0 if n == 0 else 1,
        max_size=3, unique=True))
    for d in defects:
        if d.startswith("no_"):
            arrays.pop(d[3:], None)
        elif d == "empty_focal":
            arrays["focal"] = np.zeros(0)
        elif d == "nan_focal":
            arrays["focal"] = np.float64("nan")
        elif d == "neg_focal":
            arrays["focal"] = np.float64(-3)
        elif d == "string_focal":
            arrays["focal"] = np.array("ten")
        elif d == "rgba" and "images" in arrays:
            arrays["images"] = np.full((n, 8, 8, 4), 0.5, np.float32)
        elif d == "too_bright" and "images" in arrays:
            arrays["images"] = np.full((n, 8, 8, 3), 3.0, np.float32)
        elif d == "nan_image" and "images" in arrays and n:
            arrays["images"] = np.full((n, 8, 8, 3), np.nan, np.float32)
        elif d == "pose_3x3" and "poses" in arrays:
            arrays["poses"] = np.tile(np.eye(3, dtype=np.float32), (n, 1, 1))
        elif d == "pose_sheared" and "poses" in arrays and n and np.asarray(arrays["poses"]).ndim == 3:
            arrays["poses"] = arrays["poses"].copy()
            arrays["poses"][:, 0, 1] = 0.7
        elif d == "pose_count" and "poses" in arrays:
            arrays["poses"] = np.tile(np.eye(4, dtype=np.float32), (n + 1, 1, 1))
        elif d == "string_poses":
            arrays["poses"] = np.array(["a"] * max(n, 1))
        elif d == "test_empty":
            arrays["test_idx"] = np.zeros(0, np.int64)
        elif d == "test_999":
            arrays["test_idx"] = np.array([999])
        elif d == "test_negative":
            arrays["test_idx"] = np.array([-1])
        elif d == "near_gt_far":
            arrays["near"], arrays["far"] = np.float64(6.0), np.float64(2.0)
        elif d == "near_negative":
            arrays["near"] = np.float64(-1.0)
    if not defects or (defects == ["pose_sheared"] and n == 0):
        arrays.pop("images")
    return arrays


@FUZZ
@given(arrays=broken_scene())
def test_fuzz_malformed_scenes(tmp_path: Path, arrays: dict[str, object]) -> None:
    path = tmp_path / "scene.npz"
    np.savez(path, **arrays)
    out = tmp_path / "out_scene"
    assert_rejected(*cli("nerf", "train", "--scene", str(path), "--iters", "1", "--out", str(out)))
    assert not out.exists()


BLENDER_DEFECTS = ["frames_not_list", "no_file_path", "no_matrix", "matrix_3x3", "matrix_strings", "angle_zero",
                   "angle_string", "not_json", "missing_png", "frames_empty", "not_object"]


@FUZZ
@given(defect=st.sampled_from(BLENDER_DEFECTS), frame=st.integers(0, 2))
def test_fuzz_malformed_blender_folders(tmp_path: Path, defect: str, frame: int) -> None:
    from PIL import Image

    folder = tmp_path / f"blender_{defect}_{frame}"
    (folder / "train").mkdir(parents=True, exist_ok=True)
    frames = []
    for k in range(3):
        Image.new("RGBA", (8, 8), (200, 100, 50, 255)).save(folder / "train" / f"r_{k}.png")
        m = np.eye(4)
        m[2, 3] = 4.0
        frames.append({"file_path": f"./train/r_{k}", "transform_matrix": m.tolist()})
    meta: object = {"camera_angle_x": 0.69, "frames": frames}
    fr = frames[frame]
    if defect == "frames_not_list":
        meta["frames"] = {"a": 1}
    elif defect == "no_file_path":
        del fr["file_path"]
    elif defect == "no_matrix":
        del fr["transform_matrix"]
    elif defect == "matrix_3x3":
        fr["transform_matrix"] = np.eye(3).tolist()
    elif defect == "matrix_strings":
        fr["transform_matrix"] = [["a"] * 4] * 4
    elif defect == "angle_zero":
        meta["camera_angle_x"] = 0
    elif defect == "angle_string":
        meta["camera_angle_x"] = "wide"
    elif defect == "missing_png":
        fr["file_path"] = "./train/nope"
    elif defect == "frames_empty":
        meta["frames"] = []
    elif defect == "not_object":
        meta = [1, 2, 3]
    text = "{not json" if defect == "not_json" else json.dumps(meta)
    (folder / "transforms_train.json").write_text(text)
    out = tmp_path / "out_blender"
    assert_rejected(*cli("nerf", "train", "--scene", str(folder), "--iters", "1", "--out", str(out)))
    assert not out.exists()


@st.composite
def broken_checkpoint(draw: st.DrawFn) -> object:
    good = {"format": FORMAT, "kind": "classifier", "arch": "resnet18",
            "config": {"num_classes": 10, "width": 0.125}, "state_dict": {"fc.weight": torch.zeros(10, 8)}}
    defect = draw(st.sampled_from(["format", "kind", "arch", "state_dict", "config", "unknown_arch", "shape",
                                   "not_dict", "width", "classes", "tensor_values"]))
    if defect == "not_dict":
        return [1, 2, 3]
    if defect in ("format", "arch", "state_dict", "config"):
        return {k: v for k, v in good.items() if k != defect}
    if defect == "kind":
        return {**good, "kind": "nerf"}
    if defect == "unknown_arch":
        return {**good, "arch": "resnet9000"}
    if defect == "width":
        return {**good, "config": {"num_classes": 10, "width": draw(st.sampled_from([0.0, -1.0, 1e9]))}}
    if defect == "classes":
        return {**good, "config": {"num_classes": "ten", "width": 0.125}}
    if defect == "tensor_values":
        return {**good, "state_dict": {"fc.weight": "zeros"}}
    return good  # "shape": the state_dict does not fit the architecture


@FUZZ
@given(ckpt=broken_checkpoint())
def test_fuzz_malformed_checkpoints(tmp_path: Path, ckpt: object) -> None:
    path = tmp_path / "bad.pt"
    torch.save(ckpt, path)
    out = tmp_path / "out_ckpt"
    assert_rejected(*cli("eval", "--checkpoint", str(path), "--data", "synthetic", "--test-size", "8",
                         "--train-size", "8", "--out", str(out)))
    assert not out.exists()


@FUZZ
@given(defect=st.sampled_from(["x_ndim", "x_float", "y_count", "y_negative", "y_huge", "y_float", "no_y", "garbage"]))
def test_fuzz_malformed_image_sets(tmp_path: Path, defect: str) -> None:
    x, y = np.zeros((12, 32, 32, 3), np.uint8), np.arange(12) % 3
    arrays = {"x": x, "y": y}
    if defect == "x_ndim":
        arrays["x"] = np.zeros((12, 32, 32), np.uint8)
    elif defect == "x_float":
        arrays["x"] = x.astype(np.float32)
    elif defect == "y_count":
        arrays["y"] = y[:5]
    elif defect == "y_negative":
        arrays["y"] = y - 2
    elif defect == "y_huge":
        arrays["y"] = np.where(y == 0, 1_000_000, y)
    elif defect == "y_float":
        arrays["y"] = y + 0.5
    elif defect == "no_y":
        del arrays["y"]
    path = tmp_path / "set.npz"
    if defect == "garbage":
        path.write_bytes(b"PK\x03\x04 not really")
    else:
        np.savez(path, **arrays)
    out = tmp_path / "out_images"
    assert_rejected(*cli("train", "--data", str(path), "--batch-size", "2", "--out", str(out)))
    assert not out.exists()


def test_nerf_resume_refuses_another_recipe_or_scene(tmp_path: Path) -> None:
    out = tmp_path / "n"
    base = ["nerf", "train", "--model", "tiny", "--width", "16", "--depth", "2", "--samples", "8", "--iters", "2",
            "--batch-rays", "32", "--out", str(out)]
    code, err = cli(*base, "--scene", "builtin:8")
    assert code == 0, err
    before = (out / "config.json").read_bytes()
    assert_rejected(*cli(*[a if a != "16" else "32" for a in base], "--scene", "builtin:8", "--resume"),
                    "mlp_width")
    assert_rejected(*cli(*base, "--scene", "builtin-b:8", "--resume"), "scene")
    assert_rejected(*cli(*[a if a != "tiny" else "tiny_viewdirs" for a in base], "--scene", "builtin:8",
                         "--resume"), "variant")
    assert (out / "config.json").read_bytes() == before


def test_real_bugs_are_one_line_exit_1_unless_debugging(monkeypatch: pytest.MonkeyPatch) -> None:
    import neuralens.deform.commands as deform_cli

    def bug(*a: object, **k: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(deform_cli, "check_report", bug)
    monkeypatch.delenv("NEURALENS_DEBUG", raising=False)
    code, err = cli("deform", "check")
    assert code == 1 and "internal error: RuntimeError: boom" in err and "Traceback" not in err
    monkeypatch.setenv("NEURALENS_DEBUG", "1")
    with pytest.raises(RuntimeError, match="boom"):
        main(["deform", "check"])


@pytest.mark.parametrize("ending", ["success", "error", "ctrl-c"])
def test_the_lock_is_removed_however_the_command_ends(tmp_path: Path, ending: str) -> None:
    out = tmp_path / "run"
    with contextlib.suppress(NeuralensError, KeyboardInterrupt), run_folder(out, {"a": 1}):
        assert (out / ".lock").is_file()
        if ending == "error":
            raise NeuralensError("bad input found late")
        if ending == "ctrl-c":
            raise KeyboardInterrupt
    assert not (out / ".lock").exists() and (out / "config.json").is_file()
    with run_folder(out, {"a": 2}):  # and the folder can be claimed again at once
        pass


def test_a_lock_left_by_a_killed_process_does_not_block(tmp_path: Path) -> None:
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / ".lock").write_text("")  # a SIGKILLed command's leftover: not held by anyone
    with run_folder(tmp_path / "run", {}):
        pass
    assert not (tmp_path / "run" / ".lock").exists()
