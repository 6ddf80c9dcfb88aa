"""Scene files, the baseline's training, and the nerf CLI."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from neuralens.core.errors import NeuralensError
from neuralens.core.runtime import autocast_dtype
from neuralens.data.cameras import look_at
from neuralens.data.scenes import Scene, builtin_scene, load_scene, save_tiny_npz
from neuralens.nerf.config import NerfConfig
from neuralens.nerf.metrics import psnr, ssim
from neuralens.nerf.renderer import RenderSettings
from neuralens.nerf.trainer import train_nerf, training_dtype
from neuralens.nerf.variants import make_config


@pytest.fixture(scope="module")
def small_scene() -> Scene:
    return builtin_scene(24, n_train=24, n_test=2)


def test_builtin_scene_is_deterministic_and_has_content(small_scene: Scene) -> None:
    again = builtin_scene(24, n_train=24, n_test=2)
    assert torch.equal(small_scene.images, again.images)
    assert small_scene.images.shape == (26, 24, 24, 3) and small_scene.test_idx == [24, 25]
    lit = (small_scene.images.sum(-1) > 0.05).float().mean()
    assert 0.2 < float(lit) < 0.95  # objects and background both visible


def test_tiny_npz_roundtrip_and_splits(tmp_path: Path, small_scene: Scene) -> None:
    path = save_tiny_npz(small_scene, tmp_path / "s.npz")
    s = load_scene(str(path))
    assert torch.allclose(s.images, small_scene.images) and torch.allclose(s.poses, small_scene.poses)
    assert s.focal == pytest.approx(small_scene.focal) and s.test_idx == [24, 25]
    assert load_scene(str(path), split="all").test_idx == list(range(26))
    s3 = load_scene(str(path), test_views="1,3")
    assert s3.test_idx == [1, 3] and 1 not in s3.train_idx and len(s3.train_idx) == 24


def test_blender_layout(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    for split in ("train", "test"):
        (tmp_path / split).mkdir()
        frames = []
        for i in range(2):
            rgba = rng.integers(0, 256, (8, 8, 4), dtype=np.uint8)
            Image.fromarray(rgba, "RGBA").save(tmp_path / split / f"r_{i}.png")
            pose = look_at(torch.tensor([4.0, float(i), 1.0])).tolist()
            frames.append({"file_path": f"./{split}/r_{i}", "transform_matrix": pose})
        (tmp_path / f"transforms_{split}.json").write_text(json.dumps({"camera_angle_x": 0.6911, "frames": frames}))
    s = load_scene(str(tmp_path))
    assert s.images.shape == (4, 8, 8, 3) and s.train_idx == [0, 1] and s.test_idx == [2, 3]
    assert s.focal == pytest.approx(4 / np.tan(0.6911 / 2))
    px = np.asarray(Image.open(tmp_path / "train" / "r_0.png")).astype(np.float32) / 255
    assert torch.allclose(s.images[0], torch.from_numpy(px[..., :3] * px[..., 3:]), atol=1e-6)  # on black
    white = load_scene(str(tmp_path), white_background=True)
    assert torch.allclose(white.images[0], torch.from_numpy(px[..., :3] * px[..., 3:] + 1 - px[..., 3:]), atol=1e-6)
    assert load_scene(str(tmp_path), downscale=2).images.shape == (4, 4, 4, 3)


@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (lambda a: a.pop("poses"), "missing poses"),
        (lambda a: a.update(poses=a["poses"][:-1]), "images but"),
        (lambda a: a["images"].__setitem__((0, 0, 0, 0), np.nan), "NaN"),
        (lambda a: a["poses"].__setitem__((1, 0, 0), 2.0), "not rigid"),
        (lambda a: a.update(images=a["images"][..., :2]), "must be \\(N, H, W, 3\\)"),
        (lambda a: a.update(focal=np.float64(-1.0)), "focal"),
    ],
)
def test_bad_scene_files(tmp_path: Path, small_scene: Scene, mutate, match: str) -> None:
    arrays = {"images": small_scene.images.numpy().copy(), "poses": small_scene.poses.numpy().copy(),
              "focal": np.float64(small_scene.focal)}
    mutate(arrays)
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(NeuralensError, match=match):
        load_scene(str(tmp_path / "bad.npz"))


def test_metrics_against_closed_form() -> None:
    a = torch.zeros(16, 16, 3)
    b = torch.full((16, 16, 3), 0.1)
    assert psnr(a, b) == pytest.approx(20.0, abs=1e-4)  # mse 0.01
    img = torch.rand(32, 32, 3, generator=torch.Generator().manual_seed(0))
    assert ssim(img, img) == pytest.approx(1.0, abs=1e-6)
    assert ssim(img, 1 - img) < 0.0


def test_baseline_psnr_rises_in_a_few_iterations(tmp_path: Path, small_scene: Scene) -> None:
    cfg = NerfConfig(iters=60, batch_rays=256, lr=1e-3, field_kwargs=dict(depth=4, width=64), log_every=10,
                     render=RenderSettings(n_samples=24, sampler="tiny"), seed=0, device="cpu")
    res = train_nerf(cfg, small_scene, tmp_path, log=lambda m: None, progress=False)
    hist = json.loads((tmp_path / "psnr_log.json").read_text())["history"]
    assert len(hist) == 6 and hist[-1]["psnr"] > hist[0]["psnr"] + 1.0
    assert res["iterations"] == 60 and len(res["psnr"]["per_view"]) == 2
    # the notebook's iteration is one whole 24x24 image: 256-ray steps are 256/576 of one
    assert [h["images"] for h in hist] == pytest.approx([h["iteration"] * 256 / 576 for h in hist])
    assert res["images_of_rays"] == pytest.approx(60 * 256 / 576) and res["rays_per_step"] == 256
    assert (tmp_path / "checkpoint.pt").is_file()


def test_resume_after_interrupt_matches_uninterrupted(tmp_path: Path, small_scene: Scene,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import neuralens.nerf.trainer as tr

    def cfg(iters: int) -> NerfConfig:
        return NerfConfig(iters=iters, batch_rays=64, lr=1e-3, field_kwargs=dict(depth=2, width=16), log_every=5,
                          render=RenderSettings(n_samples=8), seed=3, device="cpu",
                          score_at=(4, 10, 12))

    full = train_nerf(cfg(10), small_scene, tmp_path / "a", log=lambda m: None, progress=False)
    # scored after step 4 on the way, the run matches one that stopped there (scoring leaves training untouched)
    early = train_nerf(cfg(4), small_scene, tmp_path / "c", log=lambda m: None, progress=False)
    assert set(full["scored_at"]) == {"4", "10"}  # 12 was never reached
    assert full["scored_at"]["4"]["psnr"] == pytest.approx(early["psnr"]["mean"], abs=1e-4)
    assert full["scored_at"]["4"]["ssim"] == pytest.approx(early["ssim"]["mean"], abs=1e-4)
    assert full["scored_at"]["10"]["psnr"] == pytest.approx(full["psnr"]["mean"])
    real = tr.render_rays
    calls = {"n": 0}

    def flaky(*a, **k):  # Ctrl-C during the 7th training step
        if k.get("train"):
            calls["n"] += 1
            if calls["n"] == 7:
                raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(tr, "render_rays", flaky)
    with pytest.raises(KeyboardInterrupt):
        train_nerf(cfg(10), small_scene, tmp_path / "b", log=lambda m: None, progress=False)
    monkeypatch.setattr(tr, "render_rays", real)
    resumed = train_nerf(cfg(10), small_scene, tmp_path / "b", resume=True, log=lambda m: None, progress=False)
    assert resumed["iterations"] == 10
    assert resumed["psnr"]["mean"] == pytest.approx(full["psnr"]["mean"], abs=1e-4)
    assert resumed["scored_at"]["4"]["psnr"] == pytest.approx(full["scored_at"]["4"]["psnr"], abs=1e-4)  # kept


def test_the_learning_rate_decays_to_lr_decay_over_the_budget(tmp_path: Path, small_scene: Scene) -> None:
    cfg = NerfConfig(iters=3, batch_rays=32, lr=1e-3, lr_decay=0.1, field_kwargs=dict(depth=2, width=16),
                     render=RenderSettings(n_samples=8), device="cpu")
    train_nerf(cfg, small_scene, tmp_path, log=lambda m: None, progress=False)
    state = torch.load(tmp_path / "checkpoint.pt", weights_only=False)["train_state"]["optimizer"]
    # the third step ran with 2 of 3 steps of the budget spent: 1e-3 * 0.1 ** (2 / 3)
    assert state["param_groups"][0]["lr"] == pytest.approx(1e-3 * 0.1 ** (2 / 3))


def test_bf16_training_learns_and_says_which_precision_it_used(tmp_path: Path, small_scene: Scene) -> None:
    """bf16 autocast steps learn like float32 ones (the baseline test's rise, same recipe) and metrics.json says
    which arithmetic trained the run; ``auto`` keeps a grid field (lookups, not matrix products) in float32."""
    cfg = NerfConfig(iters=60, batch_rays=256, lr=1e-3, field_kwargs=dict(depth=4, width=64), log_every=10,
                     render=RenderSettings(n_samples=24, sampler="tiny"), seed=0, device="cpu", precision="bf16")
    res = train_nerf(cfg, small_scene, tmp_path / "bf16", log=lambda m: None, progress=False)
    hist = json.loads((tmp_path / "bf16" / "psnr_log.json").read_text())["history"]
    assert res["precision"] == "bf16" and hist[-1]["psnr"] > hist[0]["psnr"] + 1.0
    cpu = torch.device("cpu")
    assert training_dtype(replace(cfg, precision="fp32"), cpu) is None
    assert training_dtype(replace(cfg, precision="auto"), cpu) == autocast_dtype(cpu, "auto")
    fast = make_config("fast", iters=4, seed=0, device="cpu")
    assert fast.precision == "auto" and training_dtype(fast, cpu) is None
    # the grid field's packed, masked rendering takes bf16 colours too
    res = train_nerf(replace(fast, precision="bf16"), small_scene, tmp_path / "fast", log=lambda m: None,
                     progress=False)
    assert res["precision"] == "bf16" and math.isfinite(res["psnr"]["mean"])
    # resumed in float32 (another machine, or --precision fp32), the run says it trained partly in each
    res = train_nerf(replace(fast, iters=6, precision="fp32"), small_scene, tmp_path / "fast", resume=True,
                     log=lambda m: None, progress=False)
    assert res["precision"] == "bf16+fp32" and res["iterations"] == 6


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "neuralens.cli", *args], capture_output=True, text=True, timeout=300)


def test_nerf_cli_train_eval_render(tmp_path: Path, small_scene: Scene) -> None:
    scene_path = save_tiny_npz(small_scene, tmp_path / "scene.npz")
    out = tmp_path / "run"
    res = _cli("nerf", "train", "--scene", str(scene_path), "--model", "tiny", "--iters", "5", "--width", "16",
               "--depth", "2", "--samples", "8", "--batch-rays", "64", "--out", str(out))
    assert res.returncode == 0, res.stderr
    m = json.loads((out / "metrics.json").read_text())
    assert {"psnr", "ssim", "seconds", "iterations"} <= set(m) and m["iterations"] == 5
    assert m["others_cpu_share"] is None or 0 <= m["others_cpu_share"] <= 1  # None only without /proc
    res = _cli("nerf", "eval", "--checkpoint", str(out / "checkpoint.pt"), "--scene", str(scene_path), "--split",
               "all", "--out", str(tmp_path / "ev"))
    assert res.returncode == 0, res.stderr
    ev = json.loads((tmp_path / "ev" / "metrics.json").read_text())
    renders = np.load(tmp_path / "ev" / "renders.npz")["images"]
    assert renders.shape == (26, 24, 24, 3) and renders.dtype == np.float32
    # anyone can recompute the metrics from renders.npz
    recomputed = [psnr(torch.from_numpy(r), small_scene.images[i]) for i, r in enumerate(renders)]
    assert np.allclose(recomputed, ev["psnr"]["per_view"], atol=1e-4)
    res = _cli("nerf", "render", "--checkpoint", str(out / "checkpoint.pt"), "--orbit", "--frames", "3",
               "--out", str(tmp_path / "vid"))
    assert res.returncode == 0, res.stderr
    for f in ("orbit.gif", "orbit.mp4", "depth.mp4"):
        assert (tmp_path / "vid" / f).stat().st_size > 0
    bad = _cli("nerf", "eval", "--checkpoint", str(tmp_path / "nope.pt"), "--scene", str(scene_path))
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and "not found" in bad.stderr
    bad = _cli("nerf", "train", "--scene", str(tmp_path / "missing.npz"), "--out", str(tmp_path / "x"))
    assert bad.returncode == 2 and "no such file" in bad.stderr and not (tmp_path / "x").exists()
