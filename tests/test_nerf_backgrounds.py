"""Backgrounds (black, white, random) tied to the renderer, and the colour mask that skips invisible samples."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from neuralens.core.errors import NeuralensError
from neuralens.data.cameras import Camera, orbit_poses
from neuralens.data.scenes import builtin_scene, load_scene, save_tiny_npz
from neuralens.nerf.config import NerfConfig
from neuralens.nerf.fields import create_field
from neuralens.nerf.model import load_nerf
from neuralens.nerf.occupancy import OccupancyGrid
from neuralens.nerf.renderer import RenderSettings, render_rays
from neuralens.nerf.trainer import TrainingRays, train_nerf
from neuralens.nerf.variants import make_config

COLOUR = np.array([0.9, 0.35, 0.1], dtype=np.float32)


def _sphere_blender(folder: Path, size: int = 16, n_train: int = 40, n_test: int = 3) -> Path:
    """A Blender-layout scene of an orange ball (radius 0.9) on a transparent background, alpha exact per pixel
    centre; written as straight-alpha RGBA PNGs like the NeRF synthetic data."""
    angle = 0.6911
    camera = Camera.pinhole(size, size, 0.5 * size / np.tan(0.5 * angle))
    for split, n, el in (("train", n_train, 30.0), ("test", n_test, 45.0)):
        (folder / split).mkdir(parents=True)
        frames = []
        for i, pose in enumerate(orbit_poses(n, radius=4.0, elevation_deg=el)):
            o, d = camera.rays(pose, 0.5)
            d = d / d.norm(dim=-1, keepdim=True)
            b = (o * d).sum(-1)
            hit = (b * b - (o * o).sum(-1) + 0.81) > 0
            rgba = np.zeros((size, size, 4), dtype=np.uint8)
            rgba[..., :3] = np.round(COLOUR * 255).astype(np.uint8)
            rgba[..., 3] = hit.numpy().astype(np.uint8) * 255
            Image.fromarray(rgba, "RGBA").save(folder / split / f"r_{i}.png")
            frames.append({"file_path": f"./{split}/r_{i}", "transform_matrix": pose.tolist()})
        (folder / f"transforms_{split}.json").write_text(json.dumps({"camera_angle_x": angle, "frames": frames}))
    return folder


@pytest.fixture(scope="module")
def sphere(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _sphere_blender(tmp_path_factory.mktemp("sphere"))


def test_rgba_scenes_keep_alpha_and_their_background(sphere: Path) -> None:
    black, white = load_scene(str(sphere)), load_scene(str(sphere), white_background=True)
    assert black.background == 0.0 and white.background == 1.0 and black.alpha is not None
    a = black.alpha[..., None]
    torch.testing.assert_close(black.images, a * torch.from_numpy(COLOUR), atol=1 / 255, rtol=0)
    torch.testing.assert_close(white.images, black.images + (1 - a))
    assert 0.05 < float(black.alpha.mean()) < 0.6  # ball and empty space both in view


def test_white_background_is_refused_for_images_without_alpha(tmp_path: Path) -> None:
    path = save_tiny_npz(builtin_scene(8, n_train=4, n_test=1), tmp_path / "s.npz")
    assert load_scene(str(path)).alpha is None
    with pytest.raises(NeuralensError, match="no alpha channel"):
        load_scene(str(path), white_background=True)


def test_random_background_targets_are_the_images_recomposited(sphere: Path) -> None:
    scene = load_scene(str(sphere), white_background=True)
    rays = TrainingRays.of(scene, 0.5)
    assert rays.views.tolist() == list(range(40))  # the training views come first in a Blender folder
    idx = torch.arange(0, 40 * 16 * 16, 7)
    bg = torch.rand(len(idx), 3, generator=torch.Generator().manual_seed(0))
    # independent truth: the straight RGBA pixels composited on bg
    straight = torch.from_numpy(COLOUR).expand(len(idx), 3)
    alpha = torch.cat([torch.from_numpy(np.asarray(Image.open(sphere / "train" / f"r_{i}.png"))[..., 3] / 255.0)
                       .reshape(-1) for i in range(40)])[idx].float()[:, None]
    torch.testing.assert_close(rays.targets(idx, bg), alpha * straight + (1 - alpha) * bg, atol=1 / 255, rtol=0)
    assert torch.equal(rays.targets(idx, None), scene.images[:40].reshape(-1, 3)[idx])


@pytest.mark.parametrize("ndc", [False, True])
def test_training_rays_are_the_cameras_rays_of_the_training_views(ndc: bool) -> None:
    """Rays made per batch equal the camera's full ray grid (non-square, off-centre, NDC) of the right view."""
    scene = builtin_scene(8, n_train=6, n_test=2)
    scene.images = scene.images[:, :, :6]  # 8x6 pixels
    scene.fy, scene.cx, scene.cy, scene.ndc_near = 9.0, 2.5, 4.75, (1.0 if ndc else None)
    scene.train_idx, scene.test_idx = [7, 0, 3, 5, 1, 2], [4, 6]  # not in file order
    rays = TrainingRays.of(scene, 0.5)
    idx = torch.randint(0, 6 * 48, (200,), generator=torch.Generator().manual_seed(0))
    o, d = rays.rays(idx)
    full_o, full_d = scene.camera.rays(scene.poses[scene.train_idx], 0.5)  # (6, 8, 6, 3)
    torch.testing.assert_close(o, full_o.reshape(-1, 3)[idx])
    torch.testing.assert_close(d, full_d.reshape(-1, 3)[idx])
    torch.testing.assert_close(rays.targets(idx, None), scene.images[scene.train_idx].reshape(-1, 3)[idx])


def test_random_background_training_learns_transparency(sphere: Path, tmp_path: Path) -> None:
    """Trained on random backgrounds, the field renders the ball on white as well as on black: the background is
    a constant of the renderer, not something painted into the field."""
    white = load_scene(str(sphere), white_background=True)
    cfg = make_config("fast", iters=150, random_bg=True, device="cpu", log_every=150, batch_rays=512)
    cfg.field_kwargs["resolution"] = 32
    res = train_nerf(cfg, white, tmp_path / "r", log=lambda m: None, progress=False)
    assert cfg.render.background == 1.0  # taken from the scene
    # the CLI renders on the evaluated scene's background, and says that it differs from training's
    r = subprocess.run([sys.executable, "-m", "neuralens.cli", "nerf", "eval", "--checkpoint",
                        str(tmp_path / "r" / "checkpoint.pt"), "--scene", str(sphere), "--out", str(tmp_path / "ev")],
                       capture_output=True, text=True)
    assert r.returncode == 0 and "trained with background random, rendering on 0" in r.stderr, r.stderr
    on_black = json.loads((tmp_path / "ev" / "metrics.json").read_text())["psnr"]["mean"]
    assert res["psnr"]["mean"] > 22 and on_black > 22, (res["psnr"], on_black)


def test_the_cli_refuses_random_or_white_backgrounds_without_alpha(tmp_path: Path) -> None:
    path = save_tiny_npz(builtin_scene(8, n_train=4, n_test=1), tmp_path / "s.npz")
    for flag, match in (("--random-bg", "needs images with an alpha channel"), ("--white-bg", "no alpha channel")):
        out = tmp_path / flag.strip("-")
        r = subprocess.run([sys.executable, "-m", "neuralens.cli", "nerf", "train", "--scene", str(path),
                            "--iters", "2", flag, "--out", str(out)], capture_output=True, text=True)
        assert r.returncode == 2 and match in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
        assert not out.exists()


def _blob_field() -> torch.nn.Module:
    """A VM field with a dense blob in the middle: rays that hit it stop there, so samples behind it are
    invisible."""
    torch.manual_seed(0)
    f = create_field("vm", resolution=16, use_viewdirs=True, density_shift=-12.0)  # empty space: sigma ~ 6e-6
    with torch.no_grad():
        f.density_planes.zero_()
        f.density_lines.zero_()
        f.density_planes[:, 0, 5:11, 5:11] = 3.0
        f.density_lines[:, 0, 5:11] = 3.0
    return f


@torch.no_grad()
def test_the_colour_mask_changes_pixels_by_less_than_its_threshold_budget() -> None:
    field = _blob_field()
    s = RenderSettings(near=2.0, far=6.0, occupancy=True, march_steps=128, bound=1.5, use_viewdirs=True)
    occ = OccupancyGrid(bound=1.5, march_steps=128, warmup=0)
    o, d = Camera.pinhole(12, 12, 15.0).rays(orbit_poses(3), 0.5)
    o, d = o.reshape(-1, 3), d.reshape(-1, 3)
    full = render_rays(field, o, d, s, occ=occ)
    coloured = []
    radiance = field.radiance
    field.radiance = lambda x, v: coloured.append(len(x)) or radiance(x, v)
    for threshold in (1e-4, 1e-2):
        coloured.clear()
        masked = render_rays(field, o, d, replace(s, weight_threshold=threshold), occ=occ)
        # each dropped sample moves its pixel by at most its weight (< threshold) times a colour <= 1
        assert float((masked["rgb"] - full["rgb"]).abs().max()) <= threshold * 128
        torch.testing.assert_close(masked["opacity"], full["opacity"])
        assert sum(coloured) < 0.2 * full["weights"].numel()  # empty space and what hides behind the blob: no colour


def test_upsampling_the_grid_keeps_the_field_and_checkpoints_follow_it() -> None:
    """Coarse-to-fine: 16 -> 31 cells puts every old node on a new one, so the piecewise-bilinear field is the
    same function afterwards; a fresh field loads the finer state and agrees too."""
    field = create_field("vm", resolution=16, use_viewdirs=True)
    x = (torch.rand(500, 3, generator=torch.Generator().manual_seed(1)) * 2 - 1) * 1.4
    v = torch.nn.functional.normalize(torch.randn(500, 3), dim=-1)
    with torch.no_grad():
        before = field(x, v)
        field.upsample(31)
        after = field(x, v)
    assert field.density_planes.shape[-2:] == (31, 31) and field.app_lines.shape[-2:] == (31, 1)
    torch.testing.assert_close(after, before, atol=1e-5, rtol=1e-5)
    fresh = create_field("vm", resolution=16, use_viewdirs=True)
    fresh.load_state_dict(field.state_dict())
    with torch.no_grad():
        torch.testing.assert_close(fresh(x, v), after)


def test_a_coarse_to_fine_run_upsamples_on_schedule_and_resumes(tmp_path: Path) -> None:
    scene = builtin_scene(12, n_train=8, n_test=1)

    def cfg(iters: int) -> NerfConfig:
        c = make_config("fast", iters=iters, device="cpu", log_every=10, batch_rays=128, occ_warmup=2,
                        upsample=[[0.25, 20], [0.5, 24]])
        c.field_kwargs["resolution"] = 16
        return c

    train_nerf(cfg(8), scene, tmp_path, log=lambda m: None, progress=False)
    state = torch.load(tmp_path / "checkpoint.pt", weights_only=True)["state_dict"]
    assert state["coarse.density_planes"].shape[-1] == 24  # both steps passed by iteration 4 of 8
    res = train_nerf(cfg(12), scene, tmp_path, resume=True, log=lambda m: None, progress=False)
    assert res["iterations"] == 12
    assert load_nerf(tmp_path / "checkpoint.pt")[2].coarse.resolution == 24
