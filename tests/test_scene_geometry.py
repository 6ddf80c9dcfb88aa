"""Scenes people actually have: geometry from the cameras (any scale, any centre) and transforms.json captures
with non-square images and an off-centre principal point."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from neuralens.core.errors import NeuralensError
from neuralens.data.geometry import REFERENCE_DISTANCE, look_at_point, to_canonical
from neuralens.data.scenes import builtin_scene, load_scene, save_tiny_npz
from neuralens.nerf.config import NerfConfig
from neuralens.nerf.model import build_model
from neuralens.nerf.renderer import RenderSettings
from neuralens.nerf.trainer import fit_to_scene, train_nerf
from neuralens.nerf.variants import make_config


def _moved(tmp_path: Path, factor: float, shift: tuple[float, float, float], name: str) -> Path:
    """The built-in scene's views with every camera position scaled by ``factor`` and shifted (same images)."""
    scene = builtin_scene(16, n_train=24, n_test=2)
    poses = scene.poses.clone()
    poses[:, :3, 3] = poses[:, :3, 3] * factor + torch.tensor(shift)
    path = tmp_path / f"{name}.npz"
    np.savez(path, images=scene.images.numpy(), poses=poses.numpy(), focal=np.float64(scene.focal),
             test_idx=np.array(scene.test_idx))
    return path


def test_the_look_at_point_of_an_orbit_is_its_centre() -> None:
    poses = builtin_scene(8, n_train=12, n_test=1).poses.double()
    poses[:, :3, 3] += torch.tensor([3.0, -2.0, 0.5], dtype=torch.float64)
    torch.testing.assert_close(look_at_point(poses), torch.tensor([3.0, -2.0, 0.5], dtype=torch.float64))


def test_scaled_and_shifted_scenes_become_the_same_canonical_scene(tmp_path: Path) -> None:
    a = load_scene(str(_moved(tmp_path, 1.0, (0.0, 0.0, 0.0), "a")))
    b = load_scene(str(_moved(tmp_path, 4.0, (10.0, -3.0, 2.0), "b")))
    torch.testing.assert_close(a.poses, b.poses, atol=1e-4, rtol=1e-4)
    assert a.near == pytest.approx(b.near, rel=1e-5) and a.far == pytest.approx(b.far, rel=1e-5)
    assert b.scale == pytest.approx(a.scale / 4, rel=1e-5) and b.center == pytest.approx([10.0, -3.0, 2.0], abs=1e-4)
    dist = a.poses[:, :3, 3].norm(dim=-1).median()
    assert float(dist) == pytest.approx(REFERENCE_DISTANCE, rel=1e-5)
    assert 0 < a.near < float(a.poses[:, :3, 3].norm(dim=-1).min()) < a.far
    # so training sees the same numbers: the same PSNR after the same steps
    cfg = NerfConfig(iters=6, batch_rays=64, lr=1e-3, field_kwargs=dict(depth=2, width=16), log_every=3,
                     render=RenderSettings(n_samples=8, near=a.near, far=a.far), seed=0, device="cpu")
    ra = train_nerf(cfg, a, tmp_path / "ra", log=lambda m: None, progress=False)
    rb = train_nerf(cfg, b, tmp_path / "rb", log=lambda m: None, progress=False)
    assert ra["psnr"]["mean"] == pytest.approx(rb["psnr"]["mean"], abs=1e-3)


def test_a_saved_canonical_scene_loads_unchanged(tmp_path: Path) -> None:
    scene = load_scene(str(_moved(tmp_path, 2.0, (1.0, 1.0, 1.0), "c")))
    again = load_scene(str(save_tiny_npz(scene, tmp_path / "saved.npz")))
    torch.testing.assert_close(again.poses, scene.poses)
    assert (again.near, again.far, again.scale) == pytest.approx((scene.near, scene.far, scene.scale))


def _capture(tmp_path: Path, per_frame: bool = False, **meta: object) -> Path:
    """A transforms.json capture of 12 views, 12x8 RGB images, fl_x 10, fl_y 12, principal point (5, 3)."""
    folder = tmp_path / "capture"
    (folder / "images").mkdir(parents=True, exist_ok=True)
    poses = builtin_scene(8, n_train=12, n_test=1).poses[:12].numpy() * np.array([1, 1, 1, 3.0]) + \
        np.array([0, 0, 0, 0.0])
    frames = []
    intr = {"fl_x": 10.0, "fl_y": 12.0, "cx": 5.0, "cy": 3.0, "w": 12, "h": 8}
    for k in range(12):
        Image.fromarray(np.full((8, 12, 3), 20 * k, np.uint8)).save(folder / "images" / f"f{k:03d}.jpg")
        frame: dict[str, object] = {"file_path": f"images/f{k:03d}.jpg", "transform_matrix": poses[k].tolist()}
        if per_frame:
            frame.update(intr)
        frames.append(frame)
    body = {"frames": frames, "aabb_scale": 4, **({} if per_frame else intr), **meta}
    (folder / "transforms.json").write_text(json.dumps(body))
    return folder


@pytest.mark.parametrize("per_frame", [False, True])
def test_transforms_json_with_non_square_images_and_an_off_centre_principal_point(tmp_path: Path,
                                                                                  per_frame: bool) -> None:
    scene = load_scene(str(_capture(tmp_path, per_frame)))
    cam = scene.camera
    assert (cam.height, cam.width, cam.fx, cam.fy, cam.cx, cam.cy) == (8, 12, 10.0, 12.0, 5.0, 3.0)
    assert scene.images.shape == (12, 8, 12, 3) and scene.test_idx == [0, 10]
    assert not set(scene.train_idx) & set(scene.test_idx)
    # the ray through the principal point is the camera's optical axis (-z), in the canonical frame
    _, d = cam.rays(scene.poses[3])
    axis = -scene.poses[3, :3, 2]
    torch.testing.assert_close(d[3, 5] / d[3, 5].norm(), axis, atol=1e-5, rtol=1e-5)
    # a pixel to the right and below looks right (+x of the camera) and down (-y), scaled by fx and fy
    cam_dir = scene.poses[3, :3, :3].T @ d[3 + 2, 5 + 1]
    torch.testing.assert_close(cam_dir, torch.tensor([1 / 10.0, -2 / 12.0, -1.0]), atol=1e-5, rtol=1e-5)
    half = load_scene(str(_capture(tmp_path, per_frame)), downscale=2).camera
    assert (half.height, half.width, half.fx, half.cx) == (4, 6, 5.0, 2.5)


def test_transforms_json_errors_name_the_file_and_field(tmp_path: Path) -> None:
    folder = _capture(tmp_path)
    meta = json.loads((folder / "transforms.json").read_text())
    meta["frames"][2]["fl_x"] = 11.0
    (folder / "transforms.json").write_text(json.dumps(meta))
    with pytest.raises(NeuralensError, match="differ in image size or intrinsics"):
        load_scene(str(folder))
    for key in ("fl_x", "fl_y"):
        meta.pop(key)
    for fr in meta["frames"]:
        fr.pop("fl_x", None)
    (folder / "transforms.json").write_text(json.dumps(meta))
    with pytest.raises(NeuralensError, match="frame 0: no focal length"):
        load_scene(str(folder / "transforms.json"))
    del meta["frames"][1]["transform_matrix"]
    (folder / "transforms.json").write_text(json.dumps({**meta, "fl_x": 10.0}))
    with pytest.raises(NeuralensError, match=r"transforms\.json: frame 1 has no transform_matrix"):
        load_scene(str(folder))


def test_aabb_scale_grows_the_box_the_grid_and_far(tmp_path: Path) -> None:
    """instant-ngp's aabb_scale: the scene reaches that many times past the reference box; the occupancy grid,
    the grid field and the ray interval all follow."""
    plain = load_scene(str(_capture(tmp_path, aabb_scale=None)))
    assert plain.bound is None
    assert fit_to_scene(make_config("fast"), plain).render.bound == 1.5
    scene = load_scene(str(_capture(tmp_path)))  # aabb_scale 4
    assert scene.bound == 4 * 1.5 and scene.far > plain.far
    eye = float(scene.poses[:, :3, 3].norm(dim=-1).max())
    assert scene.far >= eye + 6.0 * 3 ** 0.5  # the box's farthest corner is inside [near, far]
    cfg = fit_to_scene(make_config("fast"), scene)
    model = build_model(cfg)
    assert cfg.render.bound == model.coarse.bound == model.occ.bound == 6.0
    for bad in (0.5, 1000):
        with pytest.raises(NeuralensError, match=r"aabb_scale must lie in 1\.\.128"):
            load_scene(str(_capture(tmp_path, aabb_scale=bad)))


def test_a_files_aabb_becomes_the_scene_box_and_is_saved(tmp_path: Path) -> None:
    lo, hi = [-1.0, -2.0, -0.5], [1.5, 1.0, 0.5]  # world units; the capture's cameras sit ~12 units out
    scene = load_scene(str(_capture(tmp_path, aabb=[lo, hi])))
    corners = torch.eye(4, dtype=torch.float64).repeat(8, 1, 1)
    corners[:, :3, 3] = torch.tensor([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1])
                                      for z in (lo[2], hi[2])], dtype=torch.float64)
    canon = to_canonical(corners, torch.tensor(scene.center, dtype=torch.float64), scene.scale)[:, :3, 3]
    assert scene.bound == pytest.approx(float(canon.abs().max()), rel=1e-6)  # the cube holds every corner
    assert scene.bound < 1.5  # a tight box: finer grid cells than the default one
    again = load_scene(str(save_tiny_npz(scene, tmp_path / "saved.npz")))
    assert again.bound == pytest.approx(scene.bound) and again.far == pytest.approx(scene.far)
    with pytest.raises(NeuralensError, match="aabb must be"):
        load_scene(str(_capture(tmp_path, aabb=[hi, lo])))


def _llff(tmp_path: Path) -> Path:
    """9 forward-facing views: cameras on a small patch of the z = 0 plane looking down -z (OpenGL), full size
    16x24 with focal 20, stored as LLFF does ([down, right, back] axes), images_2/ at 8x12, bounds 2..10."""
    folder = tmp_path / "fern"
    (folder / "images_2").mkdir(parents=True)
    rows = []
    for k in range(9):
        mat = np.zeros((3, 5))
        mat[:, 0], mat[:, 1], mat[:, 2] = (0, -1, 0), (1, 0, 0), (0, 0, 1)  # down = -y, right = x, back = z
        mat[:, 3] = (0.1 * (k % 3), 0.1 * (k // 3), 0.0)
        mat[:, 4] = (16, 24, 20)
        rows.append(np.concatenate([mat.reshape(-1), [2.0, 10.0]]))
        Image.fromarray(np.full((8, 12, 3), 25 * k, np.uint8)).save(folder / "images_2" / f"IMG_{k:04d}.JPG")
    np.save(folder / "poses_bounds.npy", np.array(rows))
    return folder


def test_llff_capture_gives_ndc_rays(tmp_path: Path) -> None:
    scene = load_scene(str(_llff(tmp_path)), downscale=2)
    cam = scene.camera
    assert (cam.height, cam.width, cam.fx, cam.ndc_near) == (8, 12, 10.0, 1.0)
    # bounds 2..10 scaled by 1/(2 * 0.75): the deepest point at 6.67, NDC t = 1 - 1/6.67 there; far keeps a 1.5x
    # margin in depth: t = 1 - 1/(6.67 * 1.5) = 0.9 instead of infinity (t = 1)
    assert (scene.near, scene.far) == (0.0, pytest.approx(0.9)) and scene.test_idx == [0, 8]
    torch.testing.assert_close(scene.poses[4, :3, :3], torch.eye(3), atol=1e-6, rtol=0)  # LLFF axes -> OpenGL
    o, d = cam.rays(scene.poses[4])
    # NDC: every ray starts on the near plane (z = -1) and reaches infinity at z = +1 when t = 1
    torch.testing.assert_close(o[..., 2], torch.full((8, 12), -1.0))
    torch.testing.assert_close((o + d)[..., 2], torch.full((8, 12), 1.0))
    assert o[..., :2].abs().max() <= 1.0 + 1e-5  # the image corners map inside [-1, 1]


def test_a_forward_facing_capture_trains_and_renders_the_spiral_path(tmp_path: Path) -> None:
    """The NeRF paper's video of a forward-facing capture: an ellipse of the cameras' 90th-percentile offsets about
    their average pose (the canonical origin), every frame looking at the focus depth in front."""
    from neuralens.cli import main
    from neuralens.core.checkpoint import load_checkpoint
    from neuralens.data.cameras import spiral_poses

    folder = _llff(tmp_path)
    out = tmp_path / "run"
    assert main(["nerf", "train", "--scene", str(folder), "--downscale", "2", "--model", "fast", "--iters", "2",
                 "--out", str(out)]) == 0
    assert json.loads((out / "metrics.json").read_text())["test_views"] == [0, 8]
    assert main(["nerf", "render", "--checkpoint", str(out / "checkpoint.pt"), "--orbit", "--frames", "4",
                 "--size", "8"]) == 0
    assert (out / "render" / "orbit.mp4").stat().st_size > 0
    scene = load_checkpoint(out / "checkpoint.pt")["scene"]
    poses = spiral_poses(8, tuple(scene["spiral_radii"]), scene["focus"])
    eyes = poses[:, :3, 3]
    assert (eyes.abs() <= torch.tensor(scene["spiral_radii"]) + 1e-6).all() and scene["focus"] > 1.0
    towards = torch.tensor([0.0, 0.0, -scene["focus"]]) - eyes  # each camera looks down its -z at the focus
    assert torch.allclose(-poses[:, :3, 2], towards / towards.norm(dim=-1, keepdim=True), atol=1e-5)
