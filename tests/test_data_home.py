"""The data home: downloads against an HTTP server on 127.0.0.1 (full, interrupted + resumed, corrupt, offline),
``--data auto`` / ``--scene auto``, and the tiny_nerf file's own split."""

from __future__ import annotations

import hashlib
import http.server
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from neuralens.core.errors import NeuralensError
from neuralens.data.cifar import load_image_data
from neuralens.data.download import MIRROR_ENV, download
from neuralens.data.home import HOME_ENV, list_data
from neuralens.data.scenes import load_scene

PAYLOAD = bytes(range(256)) * 4096  # 1 MiB
SHA = hashlib.sha256(PAYLOAD).hexdigest()


class _Server(http.server.ThreadingHTTPServer):
    cut_after: int | None = None  # close the connection after this many bytes (once)
    corrupt = False
    requests: list[str]

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests = []


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        body = bytearray(PAYLOAD)
        if self.server.corrupt:
            body[1000] ^= 0xFF
        start = 0
        rng = self.headers.get("Range")
        self.server.requests.append(rng or "")
        if rng:
            start = int(rng.removeprefix("bytes=").split("-")[0])
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            self.send_response(200)
        chunk = bytes(body[start:])
        self.send_header("Content-Length", str(len(chunk)))
        self.end_headers()
        if self.server.cut_after is not None:
            self.wfile.write(chunk[: self.server.cut_after])
            self.server.cut_after = None
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.wfile.write(chunk)


@pytest.fixture()
def server() -> Iterator[_Server]:
    srv = _Server()
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def _url(srv: _Server) -> str:
    return f"http://127.0.0.1:{srv.server_address[1]}/files/blob.bin"


def test_a_full_download_is_verified_and_atomic(tmp_path: Path, server: _Server) -> None:
    dest = download(_url(server), tmp_path / "blob.bin", len(PAYLOAD), ("sha256", SHA), progress=False)
    assert dest.read_bytes() == PAYLOAD and not (tmp_path / "blob.bin.part").exists()
    download(_url(server), dest, len(PAYLOAD), ("sha256", SHA), progress=False)  # verified copy: not fetched again
    assert len(server.requests) == 1


def test_an_interrupted_download_resumes_with_a_range_request(tmp_path: Path, server: _Server) -> None:
    server.cut_after = 300_000
    with pytest.raises(NeuralensError, match=r"kept in blob\.bin\.part, the next try resumes"):
        download(_url(server), tmp_path / "blob.bin", len(PAYLOAD), ("sha256", SHA), progress=False)
    assert (tmp_path / "blob.bin.part").stat().st_size == 300_000 and not (tmp_path / "blob.bin").exists()
    dest = download(_url(server), tmp_path / "blob.bin", len(PAYLOAD), ("sha256", SHA), progress=False)
    assert dest.read_bytes() == PAYLOAD
    assert server.requests == ["", "bytes=300000-"]


def test_a_corrupt_download_is_refused_and_deleted(tmp_path: Path, server: _Server) -> None:
    server.corrupt = True
    with pytest.raises(NeuralensError, match=r"corrupt .*sha256"):
        download(_url(server), tmp_path / "blob.bin", len(PAYLOAD), ("sha256", SHA), progress=False)
    assert list(tmp_path.iterdir()) == []


def test_offline_is_one_line_within_seconds(tmp_path: Path) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t0 = time.perf_counter()
    with pytest.raises(NeuralensError, match="could not download"):
        download(f"http://127.0.0.1:{port}/x.npz", tmp_path / "x.npz", progress=False, timeout=5)
    assert time.perf_counter() - t0 < 5 and list(tmp_path.iterdir()) == []


def test_a_mirror_replaces_the_host(tmp_path: Path, server: _Server, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MIRROR_ENV, f"http://127.0.0.1:{server.server_address[1]}/files")
    dest = download("http://unreachable.invalid/some/path/blob.bin", tmp_path / "blob.bin", len(PAYLOAD),
                    ("sha256", SHA), progress=False)
    assert dest.read_bytes() == PAYLOAD


def test_data_fetch_tiny_nerf_through_the_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The real fetcher end to end against a local mirror: a corrupt file is refused by its SHA-256."""
    import neuralens.data.home as home
    from neuralens.cli import main

    (tmp_path / "mirror").mkdir()
    (tmp_path / "mirror" / "tiny_nerf_data.npz").write_bytes(PAYLOAD)
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), lambda *a: http.server.SimpleHTTPRequestHandler(
        *a, directory=str(tmp_path / "mirror")))
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv(MIRROR_ENV, f"http://127.0.0.1:{srv.server_address[1]}")
        assert main(["data", "fetch", "tiny_nerf", "--data-root", str(tmp_path / "home")]) == 2  # wrong bytes
        assert not (tmp_path / "home" / "nerf" / "tiny_nerf_data.npz").exists()
        monkeypatch.setattr(home, "TINY_NERF_SIZE", len(PAYLOAD))
        monkeypatch.setattr(home, "TINY_NERF_SHA256", SHA)
        assert main(["data", "fetch", "tiny_nerf", "--data-root", str(tmp_path / "home")]) == 0
        assert (tmp_path / "home" / "nerf" / "tiny_nerf_data.npz").read_bytes() == PAYLOAD
        rows = {r["name"]: r for r in list_data(tmp_path / "home")}
        assert rows["tiny_nerf_data"]["checksum"] == "sha256 ok" and rows["cifar10"]["checksum"] == "missing"
    finally:
        srv.shutdown()
        srv.server_close()


def _tiny_nerf_layout(path: Path, n: int = 106) -> Path:
    """A file with the tiny_nerf notebook's layout (106 views of 100x100, focal, no split)."""
    from neuralens.data.procedural_scene import camera_poses

    np.savez(path, images=np.random.default_rng(0).random((n, 100, 100, 3), dtype=np.float32),
             poses=camera_poses(n).numpy(), focal=np.float64(138.88887889922103))
    return path


def test_the_tiny_nerf_file_gets_the_notebooks_split(tmp_path: Path) -> None:
    scene = load_scene(str(_tiny_nerf_layout(tmp_path / "tiny_nerf_data.npz")))
    assert scene.train_idx == list(range(100)) and scene.test_idx == [101]
    assert not set(scene.train_idx) & {100, 101, 102, 103, 104, 105}
    other = load_scene(str(_tiny_nerf_layout(tmp_path / "other.npz", n=30)))
    assert other.test_idx == [0, 10, 20]  # any other file: every 10th view


def test_auto_uses_the_data_home_and_falls_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(HOME_ENV, str(tmp_path / "empty"))
    assert load_image_data("auto", synthetic_size=(20, 10), log=lambda m: None).source.startswith("synthetic")
    assert load_scene("auto", test_views="0").name.startswith("builtin")
    home = tmp_path / "home"
    (home / "cifar10").mkdir(parents=True)
    rng = np.random.default_rng(0)
    for split, n in (("train", 20), ("test", 10)):
        np.savez(home / "cifar10" / f"cifar10_{split}.npz", x=rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8),
                 y=np.arange(n) % 10)
    (home / "nerf").mkdir()
    _tiny_nerf_layout(home / "nerf" / "tiny_nerf_data.npz")
    monkeypatch.setenv(HOME_ENV, str(home))
    data = load_image_data("auto", log=lambda m: None)
    assert len(data.x_train) == 20 and "npz folder" in data.source
    assert load_scene("auto").test_idx == [101]
    assert load_image_data("auto", str(home / "cifar10"), log=lambda m: None).source == data.source  # a CIFAR folder


def test_nerf_metrics_record_train_and_test_views(tmp_path: Path) -> None:
    from neuralens.cli import main

    path = _tiny_nerf_layout(tmp_path / "tiny_nerf_data.npz")
    out = tmp_path / "run"
    assert main(["nerf", "train", "--scene", str(path), "--model", "tiny", "--width", "16", "--depth", "2",
                 "--samples", "8", "--iters", "1", "--batch-rays", "16", "--downscale", "4", "--out", str(out)]) == 0
    m = json.loads((out / "metrics.json").read_text())
    assert m["train_views"] == list(range(100)) and m["test_views"] == [101]


def test_the_demo_chooses_real_data_from_the_home_and_says_so(tmp_path: Path) -> None:
    from neuralens.demo.config import DemoConfig
    from neuralens.demo.run import DemoRun, resolve_data

    home = tmp_path / "home"
    (home / "cifar10").mkdir(parents=True)
    for split in ("train", "test"):
        np.savez(home / "cifar10" / f"cifar10_{split}.npz", x=np.zeros((10, 32, 32, 3), np.uint8), y=np.arange(10))
    (home / "nerf").mkdir()
    _tiny_nerf_layout(home / "nerf" / "tiny_nerf_data.npz")
    run = DemoRun(DemoConfig(tmp_path / "out", quick=True, data_root=str(home), device="cpu", offline=True))
    info = resolve_data(run)
    assert run.mode == "shipped" and info["cnn_mode"] == "shipped"
    assert info["cifar10"]["source"] == "real" and info["cifar10"]["path"] == str(home / "cifar10")
    assert info["nerf"] == {"source": "real", "scene": "tiny_nerf_data",
                            "path": str(home / "nerf" / "tiny_nerf_data.npz")}
    empty = resolve_data(DemoRun(DemoConfig(tmp_path / "out2", quick=True, data_root=str(tmp_path / "none"),
                                            device="cpu", offline=True)))
    assert (empty["cifar10"]["source"], empty["nerf"]["source"]) == ("synthetic", "builtin")
    assert empty["cnn_mode"] == "train"  # the shipped nets know CIFAR-10's classes, not the stand-in's
