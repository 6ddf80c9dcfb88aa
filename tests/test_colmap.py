"""COLMAP models (text and binary) and the LLFF file of the same generated capture load into the same cameras; the
camera convention is checked against an independent OpenCV projection of known 3-D points; distortion is refused;
``--scene DIR`` finds the layout by itself and says which."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from neuralens.core.errors import NeuralensError
from neuralens.data.cameras import Camera
from neuralens.data.colmap import ColmapImage
from neuralens.data.scenes import load_scene

H, W, F = 12, 16, 14.0


def _rot(axis: str, deg: float) -> np.ndarray:
    a = np.deg2rad(deg)
    c, s = np.cos(a), np.sin(a)
    return {"x": np.array([[1, 0, 0], [0, c, -s], [0, s, c]]), "y": np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])}[axis]


def _quat(r: np.ndarray) -> np.ndarray:
    """Rotation matrix -> (w, x, y, z), written independently of the loader's inverse formula: the eigenvector of
    the symmetric 4x4 matrix of Bar-Itzhack (2000) with the largest eigenvalue."""
    k = np.array([[r[0, 0] - r[1, 1] - r[2, 2], r[1, 0] + r[0, 1], r[2, 0] + r[0, 2], r[2, 1] - r[1, 2]],
                  [r[1, 0] + r[0, 1], r[1, 1] - r[0, 0] - r[2, 2], r[2, 1] + r[1, 2], r[0, 2] - r[2, 0]],
                  [r[2, 0] + r[0, 2], r[2, 1] + r[1, 2], r[2, 2] - r[0, 0] - r[1, 1], r[1, 0] - r[0, 1]],
                  [r[2, 1] - r[1, 2], r[0, 2] - r[2, 0], r[1, 0] - r[0, 1], r[0, 0] + r[1, 1] + r[2, 2]]]) / 3
    x, y, z, w = np.linalg.eigh(k)[1][:, -1]
    return np.array([w, x, y, z])


def capture(n: int = 9, forward: bool = True) -> dict:
    """World-to-camera (OpenCV) poses of cameras looking at a wall of points, and the points."""
    rng = np.random.default_rng(0)
    pts = np.c_[rng.uniform(-2, 2, 300), rng.uniform(-1.5, 1.5, 300), rng.uniform(4, 6, 300)]
    poses = []
    for k in range(n):
        if forward:
            r = _rot("y", -6 + 12 * k / (n - 1)) @ _rot("x", 3 * np.sin(k))
            c = np.array([-0.6 + 1.2 * k / (n - 1), 0.2 * np.cos(k), 0.0])
        else:  # around the points' centre
            r = _rot("y", 360 * k / n)
            c = np.array([0, 0, 5.0]) - r.T @ np.array([0, 0, 4.0])
        poses.append((r, -r @ c))  # x_cam = R x_world + t
    return {"poses": poses, "points": pts}


def _images(folder: Path, n: int) -> list[str]:
    folder.mkdir(parents=True)
    names = [f"img_{k:03d}.png" for k in range(n)]
    rng = np.random.default_rng(1)
    for name in names:
        Image.fromarray(rng.integers(0, 256, (H, W, 3), dtype=np.uint8)).save(folder / name)
    return names


def write_colmap_text(d: Path, cap: dict, names: list[str], model: str = "PINHOLE", extra: tuple = ()) -> None:
    d.mkdir(parents=True)
    params = (F, F, W / 2, H / 2) if model == "PINHOLE" else (F, W / 2, H / 2, *extra)
    (d / "cameras.txt").write_text("# comment\n1 " + model + f" {W} {H} " + " ".join(map(str, params)) + "\n")
    lines = ["# images"]
    for k, ((r, t), name) in enumerate(zip(cap["poses"], names), start=1):
        q = _quat(r)
        lines += [f"{k} {' '.join(map(str, q))} {' '.join(map(str, t))} 1 {name}", "1.0 2.0 -1"]
    (d / "images.txt").write_text("\n".join(lines) + "\n")
    (d / "points3D.txt").write_text("".join(f"{i} {x} {y} {z} 128 128 128 0.5 1 0\n"
                                            for i, (x, y, z) in enumerate(cap["points"], start=1)))


def write_colmap_binary(d: Path, cap: dict, names: list[str]) -> None:
    d.mkdir(parents=True)
    (d / "cameras.bin").write_bytes(struct.pack("<Q", 1) + struct.pack("<iiQQ", 1, 1, W, H)
                                    + struct.pack("<4d", F, F, W / 2, H / 2))
    out = struct.pack("<Q", len(names))
    for k, ((r, t), name) in enumerate(zip(cap["poses"], names), start=1):
        out += struct.pack("<i7di", k, *_quat(r), *t, 1) + name.encode() + b"\0" + struct.pack("<Q", 1)
        out += struct.pack("<ddq", 1.0, 2.0, -1)
    (d / "images.bin").write_bytes(out)
    pts = struct.pack("<Q", len(cap["points"]))
    for i, p in enumerate(cap["points"], start=1):
        pts += struct.pack("<Q3d3BdQ", i, *p, 128, 128, 128, 0.5, 1) + struct.pack("<ii", 1, 0)
    (d / "points3D.bin").write_bytes(pts)


def write_llff(folder: Path, cap: dict) -> None:
    """poses_bounds.npy as LLFF's imgs2poses writes it: [down, right, back] columns, hwf, 0.1/99.9 percentiles of
    the depths of the points each image sees."""
    rows = []
    for r, t in cap["poses"]:
        c2w_cv = np.eye(4)
        c2w_cv[:3, :3], c2w_cv[:3, 3] = r.T, -r.T @ t
        right, down, forward = c2w_cv[:3, 0], c2w_cv[:3, 1], c2w_cv[:3, 2]
        mat = np.c_[down, right, -forward, c2w_cv[:3, 3], [H, W, F]]
        xc = (cap["points"] - c2w_cv[:3, 3]) @ c2w_cv[:3, :3]  # OpenCV camera coordinates
        z = np.where(xc[:, 2] > 0, xc[:, 2], np.inf)
        inside = (xc[:, 2] > 0) & (np.abs(F * xc[:, 0] / z) <= W / 2) & (np.abs(F * xc[:, 1] / z) <= H / 2)
        depth = xc[inside, 2]  # the points this image sees (COLMAP's tracks), as imgs2poses takes them
        rows.append(np.r_[mat.ravel(), np.percentile(depth, 0.1), np.percentile(depth, 99.9)])
    np.save(folder / "poses_bounds.npy", np.array(rows))


@pytest.fixture()
def captures(tmp_path: Path) -> dict[str, Path]:
    cap = capture()
    out = {}
    for kind in ("text", "binary", "llff"):
        folder = tmp_path / kind
        names = _images(folder / "images", len(cap["poses"]))
        if kind == "text":
            write_colmap_text(folder / "sparse" / "0", cap, names)
        elif kind == "binary":
            write_colmap_binary(folder / "sparse" / "0", cap, names)
        else:
            write_llff(folder, cap)
        out[kind] = folder
    return out


def test_colmap_text_binary_and_llff_give_the_same_scene(captures: dict[str, Path]) -> None:
    scenes = {k: load_scene(str(p)) for k, p in captures.items()}
    ref = scenes["llff"]
    assert ref.ndc_near == 1.0 and 0.5 < ref.far < 1.0  # forward-facing: NDC, samples stop past the deepest point
    for kind in ("text", "binary"):
        s = scenes[kind]
        torch.testing.assert_close(s.poses, ref.poses, atol=1e-6, rtol=0)
        assert (s.camera.fx, s.camera.fy, s.camera.cx, s.camera.cy) == pytest.approx(
            (ref.camera.fx, ref.camera.fy, ref.camera.cx, ref.camera.cy))
        assert (s.near, s.far, s.train_idx, s.test_idx, s.ndc_near) == (ref.near, pytest.approx(ref.far),
                                                                        ref.train_idx, ref.test_idx, 1.0)
        torch.testing.assert_close(s.images, ref.images)


def test_the_camera_convention_matches_an_opencv_projection_of_known_points() -> None:
    cap = capture()
    cam = Camera.pinhole(H, W, F)
    for r, t in cap["poses"][:3]:
        image = ColmapImage("x", 1, _quat(r), t)
        c2w = torch.from_numpy(image.c2w_opengl())
        for x in cap["points"][:20]:
            xc = r @ x + t  # OpenCV camera coordinates, independently of the loader
            u, v = F * xc[0] / xc[2] + W / 2, F * xc[1] / xc[2] + H / 2
            o, d = cam.pixel_rays(c2w[None].double(), torch.tensor([v]), torch.tensor([u]))
            to_point = torch.from_numpy(x) - o[0]
            cos = float(to_point @ d[0] / (to_point.norm() * d[0].norm()))
            assert cos == pytest.approx(1.0, abs=1e-9)  # the pixel's ray passes through the point


def test_object_captures_go_to_the_canonical_frame(tmp_path: Path) -> None:
    cap = capture(12, forward=False)
    names = _images(tmp_path / "obj" / "images", 12)
    write_colmap_text(tmp_path / "obj" / "sparse" / "0", cap, names)
    scene = load_scene(str(tmp_path / "obj"))
    assert scene.ndc_near is None and scene.test_idx == [0, 10]
    radius = scene.poses[:, :3, 3].norm(dim=-1)
    assert float(radius.median()) == pytest.approx(4.0311, rel=1e-3)  # the NeRF synthetic camera radius


def test_distortion_is_refused_with_the_undistort_command(tmp_path: Path) -> None:
    cap = capture()
    names = _images(tmp_path / "d" / "images", len(cap["poses"]))
    write_colmap_text(tmp_path / "d" / "sparse" / "0", cap, names, model="SIMPLE_RADIAL", extra=(0.05,))
    with pytest.raises(NeuralensError, match="colmap image_undistorter"):
        load_scene(str(tmp_path / "d"))
    zero = tmp_path / "z"
    names = _images(zero / "images", len(cap["poses"]))
    write_colmap_text(zero / "sparse" / "0", cap, names, model="SIMPLE_RADIAL", extra=(0.0,))
    assert load_scene(str(zero)).camera.fx == pytest.approx(F)  # no distortion: read as a pinhole


def test_the_layout_is_found_and_said(captures: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    load_scene(str(captures["binary"]))
    assert "is a COLMAP capture" in capsys.readouterr().err
    load_scene(str(captures["llff"]))
    assert "is an LLFF capture" in capsys.readouterr().err
    (captures["binary"] / "sparse" / "0" / "images.bin").write_bytes(b"\x05\x00")
    with pytest.raises(NeuralensError, match="ends early"):
        load_scene(str(captures["binary"]))


def test_writing_quaternions_round_trips_through_the_reader() -> None:
    from neuralens.data.colmap import quaternion_from_matrix

    rng = np.random.default_rng(0)
    rotations = [np.diag([1.0, -1, -1]), np.diag([-1.0, 1, -1]), np.diag([-1.0, -1, 1])]  # 180-degree turns
    for _ in range(50):
        q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
        rotations.append(q * np.sign(np.linalg.det(q)))
    for r in rotations:
        back = ColmapImage("x", 1, quaternion_from_matrix(r), np.zeros(3)).c2w_opengl() @ np.diag([1.0, -1, -1, 1])
        np.testing.assert_allclose(back[:3, :3].T, r, atol=1e-9)


def test_the_llff_and_colmap_files_of_one_capture_train_to_the_same_psnr(tmp_path: Path) -> None:
    """The same generated room written in both layouts (the writers users' tools would produce), trained with the
    default model for the same iterations and seed: the held-out PSNR agrees within 0.5 dB, and both trained
    (well above a black image; how well the room is learnt is a benchmark: benchmarks/forward_facing.py)."""
    from neuralens.data.capture_writer import LAYOUTS, write_room_capture
    from neuralens.nerf.metrics import blank_psnr
    from neuralens.nerf.trainer import train_nerf
    from neuralens.nerf.variants import make_config

    result = {}
    for layout in LAYOUTS:
        scene = load_scene(str(write_room_capture(tmp_path / layout, layout, size=24, n_views=16)))
        assert len(scene.images) == 16  # (COLMAP writes an empty 2-D points line for an image without any)
        cfg = make_config("fast", forward_facing=scene.ndc_near is not None, iters=60)
        result[layout] = train_nerf(cfg, scene, tmp_path / f"run_{layout}", log=lambda *a: None,
                                    progress=False)["psnr"]["mean"]
    black = blank_psnr(scene.images[scene.test_idx])["black"]
    assert abs(result["llff"] - result["colmap"]) < 0.5, result
    assert min(result.values()) > black + 3, (result, black)
