"""COLMAP's own output, as a user has it after running COLMAP on their photos: ``DIR/sparse/0/`` with
``cameras``, ``images`` and ``points3D`` as ``.txt`` or ``.bin``, and the photos in ``DIR/images/``.

Cameras: PINHOLE and SIMPLE_PINHOLE are read as they are; models with distortion (SIMPLE_RADIAL, RADIAL, OPENCV,
...) are read when their distortion coefficients are zero and refused otherwise, with the command that undistorts
them (``colmap image_undistorter``, which writes PINHOLE cameras). Poses: COLMAP stores world-to-camera rotations
(quaternion qw qx qy qz) and translations in OpenCV's camera axes (x right, y down, z forward); they become
camera-to-world matrices in the OpenGL convention (y up, looking down -z) used everywhere here. The 3-D points give
each camera's depth bounds (the 0.1 and 99.9 percentiles of the depths it sees, as LLFF's ``imgs2poses`` computes
them), so a forward-facing capture becomes exactly the scene its LLFF export would be (NDC rays, far plane from the
deepest point), and an object capture goes to the canonical frame like a ``transforms.json``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from neuralens.core.errors import NeuralensError

#: COLMAP camera models: id -> (name, number of parameters, indices of the distortion parameters)
CAMERA_MODELS = {
    0: ("SIMPLE_PINHOLE", 3, ()), 1: ("PINHOLE", 4, ()), 2: ("SIMPLE_RADIAL", 4, (3,)), 3: ("RADIAL", 5, (3, 4)),
    4: ("OPENCV", 8, (4, 5, 6, 7)), 5: ("OPENCV_FISHEYE", 8, (4, 5, 6, 7)), 6: ("FULL_OPENCV", 12, tuple(range(4, 12))),
    7: ("FOV", 5, (4,)), 8: ("SIMPLE_RADIAL_FISHEYE", 4, (3,)), 9: ("RADIAL_FISHEYE", 5, (3, 4)),
    10: ("THIN_PRISM_FISHEYE", 12, tuple(range(4, 12))),
}
MODEL_IDS = {name: k for k, (name, _, _) in CAMERA_MODELS.items()}
FISHEYE = {"OPENCV_FISHEYE", "SIMPLE_RADIAL_FISHEYE", "RADIAL_FISHEYE", "THIN_PRISM_FISHEYE", "FOV"}


@dataclass
class ColmapCamera:
    model: str
    width: int
    height: int
    params: tuple[float, ...]

    def pinhole(self, where: str) -> tuple[float, float, float, float]:
        """(fx, fy, cx, cy), or one line naming the distortion that would have to be removed first."""
        _, _, distortion = CAMERA_MODELS[MODEL_IDS[self.model]]
        p = self.params
        if self.model in FISHEYE or any(p[i] != 0 for i in distortion):
            raise NeuralensError(f"{where}: camera model {self.model} with distortion {[p[i] for i in distortion]}; "
                                 "neuralens renders pinhole cameras: undistort first with `colmap image_undistorter "
                                 "--image_path images --input_path sparse/0 --output_path undistorted`")
        if self.model in ("SIMPLE_PINHOLE", "SIMPLE_RADIAL", "RADIAL"):
            return p[0], p[0], p[1], p[2]
        return p[0], p[1], p[2], p[3]


@dataclass
class ColmapImage:
    name: str
    camera_id: int
    qvec: np.ndarray  # (4,) w, x, y, z: world-to-camera rotation
    tvec: np.ndarray  # (3,) world-to-camera translation

    def c2w_opengl(self) -> np.ndarray:
        """Camera-to-world (4, 4) in the OpenGL convention (x right, y up, looking down -z)."""
        w, x, y, z = self.qvec / np.linalg.norm(self.qvec)
        rot = np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
                        [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
                        [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)]])
        c2w = np.eye(4)
        c2w[:3, :3] = rot.T
        c2w[:3, 3] = -rot.T @ self.tvec
        return c2w @ np.diag([1.0, -1.0, -1.0, 1.0])  # OpenCV camera axes -> OpenGL's


def quaternion_from_matrix(r: np.ndarray) -> np.ndarray:
    """(w, x, y, z) of a rotation matrix (Shepperd's method: divide by the largest of the four candidates)."""
    tr = np.trace(r)
    cands = [tr, r[0, 0], r[1, 1], r[2, 2]]
    k = int(np.argmax(cands))
    if k == 0:
        w = np.sqrt(1 + tr) / 2
        q = [w, (r[2, 1] - r[1, 2]) / (4 * w), (r[0, 2] - r[2, 0]) / (4 * w), (r[1, 0] - r[0, 1]) / (4 * w)]
    else:
        i, j, m = (k - 1, k % 3, (k + 1) % 3)
        v = np.sqrt(1 + 2 * r[i, i] - tr) / 2
        q = [0.0, 0.0, 0.0, 0.0]
        q[0] = (r[m, j] - r[j, m]) / (4 * v)
        q[1 + i], q[1 + j], q[1 + m] = v, (r[j, i] + r[i, j]) / (4 * v), (r[m, i] + r[i, m]) / (4 * v)
    return np.array(q)


@dataclass
class ColmapModel:
    cameras: dict[int, ColmapCamera]
    images: list[ColmapImage]  # sorted by name
    points: np.ndarray  # (P, 3) world points


def model_dir(folder: Path) -> Path | None:
    """The COLMAP model folder of a capture: ``sparse/0``, ``sparse`` or the folder itself, or None."""
    for d in (folder / "sparse" / "0", folder / "sparse", folder):
        if any((d / f"cameras.{ext}").is_file() for ext in ("txt", "bin")):
            return d
    return None


def _text_rows(path: Path, keep_empty: bool = False) -> list[list[str]]:
    """The rows of a COLMAP text file without comments; ``keep_empty`` keeps empty lines (images.txt writes an
    empty 2-D points line for an image without observations), trailing ones aside."""
    try:
        lines = path.read_text().splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise NeuralensError(f"{path}: unreadable ({exc})") from None
    rows = [ln.split() for ln in lines if (keep_empty or ln.strip()) and not ln.lstrip().startswith("#")]
    while rows and not rows[-1]:
        rows.pop()
    return rows


def _read_text(d: Path) -> ColmapModel:
    cameras = {}
    for row in _text_rows(d / "cameras.txt"):
        try:
            cameras[int(row[0])] = ColmapCamera(row[1], int(row[2]), int(row[3]), tuple(float(v) for v in row[4:]))
        except (ValueError, IndexError):
            raise NeuralensError(f"{d / 'cameras.txt'}: bad line {' '.join(row)!r}") from None
    rows = _text_rows(d / "images.txt", keep_empty=True)
    images = []
    for row in rows[::2]:  # each image is a pose line followed by its 2-D points line (skipped)
        try:
            images.append(ColmapImage(row[9], int(row[8]), np.array([float(v) for v in row[1:5]]),
                                      np.array([float(v) for v in row[5:8]])))
        except (ValueError, IndexError):
            raise NeuralensError(f"{d / 'images.txt'}: bad pose line {' '.join(row)!r}") from None
    points = np.array([[float(v) for v in row[1:4]] for row in _text_rows(d / "points3D.txt")]) \
        if (d / "points3D.txt").is_file() else np.zeros((0, 3))
    return ColmapModel(cameras, images, points.reshape(-1, 3))


class _Reader:
    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.data = path.read_bytes()
        except OSError as exc:
            raise NeuralensError(f"{path}: unreadable ({exc})") from None
        self.pos = 0

    def take(self, fmt: str) -> tuple:
        size = struct.calcsize(fmt)
        if self.pos + size > len(self.data):
            raise NeuralensError(f"{self.path}: ends early (a truncated or foreign file)")
        out = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += size
        return out

    def name(self) -> str:
        end = self.data.find(b"\0", self.pos)
        if end < 0:
            raise NeuralensError(f"{self.path}: ends early (a truncated or foreign file)")
        text = self.data[self.pos:end].decode("utf-8", "replace")
        self.pos = end + 1
        return text


def _read_binary(d: Path) -> ColmapModel:
    r = _Reader(d / "cameras.bin")
    cameras = {}
    for _ in range(r.take("<Q")[0]):
        cam_id, model_id, width, height = r.take("<iiQQ")
        if model_id not in CAMERA_MODELS:
            raise NeuralensError(f"{r.path}: unknown camera model id {model_id}")
        name, n, _ = CAMERA_MODELS[model_id]
        cameras[cam_id] = ColmapCamera(name, width, height, r.take(f"<{n}d"))
    r = _Reader(d / "images.bin")
    images = []
    for _ in range(r.take("<Q")[0]):
        values = r.take("<i7di")
        name = r.name()
        (n_points,) = r.take("<Q")
        r.pos += n_points * struct.calcsize("<ddq")
        images.append(ColmapImage(name, values[8], np.array(values[1:5]), np.array(values[5:8])))
    points = []
    if (d / "points3D.bin").is_file():
        r = _Reader(d / "points3D.bin")
        for _ in range(r.take("<Q")[0]):
            values = r.take("<Q3d3BdQ")
            points.append(values[1:4])
            r.pos += values[8] * struct.calcsize("<ii")
    return ColmapModel(cameras, images, np.array(points, dtype=np.float64).reshape(-1, 3))


def read_model(d: Path) -> ColmapModel:
    """A COLMAP model folder (text or binary), images sorted by name."""
    model = _read_text(d) if (d / "cameras.txt").is_file() else _read_binary(d)
    if not model.images:
        raise NeuralensError(f"{d}: no registered images in the COLMAP model")
    missing = {im.camera_id for im in model.images} - set(model.cameras)
    if missing:
        raise NeuralensError(f"{d}: images refer to camera(s) {sorted(missing)} missing from its cameras file")
    model.images.sort(key=lambda im: im.name)
    return model


def depth_bounds(c2w: np.ndarray, points: np.ndarray, fov: tuple[float, float] | None = None) -> np.ndarray:
    """(N, 2) near/far per camera: the 0.1 and 99.9 percentiles of the depths of the points it sees (LLFF's rule);
    ``fov`` (tan of the half angles, x and y) keeps only points inside the frustum; cameras that see none get the
    others' extremes."""
    bounds = np.full((len(c2w), 2), np.nan)
    for k, m in enumerate(c2w):
        rel = (points - m[:3, 3]) @ m[:3, :3]  # camera coordinates (OpenGL: looking down -z)
        depth = -rel[:, 2]
        seen = depth > 0
        if fov is not None:
            seen &= (np.abs(rel[:, 0]) <= fov[0] * depth) & (np.abs(rel[:, 1]) <= fov[1] * depth)
        depth = depth[seen]
        if len(depth):
            bounds[k] = np.percentile(depth, 0.1), np.percentile(depth, 99.9)
    if np.isnan(bounds).all():
        raise NeuralensError("COLMAP model: no 3-D point lies in front of any camera; cannot bound the scene")
    bounds[np.isnan(bounds[:, 0]), 0] = np.nanmin(bounds[:, 0])
    bounds[np.isnan(bounds[:, 1]), 1] = np.nanmax(bounds[:, 1])
    return bounds


def forward_facing(c2w: np.ndarray, threshold: float = 0.8) -> bool:
    """Whether every camera looks roughly the same way (a forward-facing capture), not around an object."""
    view = -c2w[:, :3, 2]
    mean = view.mean(0)
    mean /= np.linalg.norm(mean)
    return bool((view @ mean).min() > threshold)
