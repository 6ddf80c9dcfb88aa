"""Downloading one file: resumable, verified, atomic, with a progress bar and an answer within seconds offline.

The bytes go to ``DEST.part``; an interrupted download resumes from there with an HTTP Range request; only a
file whose size and checksum match is renamed onto ``DEST``. A mirror (labs keep one) replaces the host:
``$NEURALENS_MIRROR/FILENAME`` is fetched instead of the original URL.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import urllib.error
import urllib.request
from pathlib import Path

from neuralens.core.errors import NeuralensError
from neuralens.core.progress import Progress

MIRROR_ENV = "NEURALENS_MIRROR"
#: seconds to wait for a connection or for the next bytes; offline machines get their answer this fast
TIMEOUT = 10.0
CHUNK = 1 << 16


def file_digest(path: Path, algorithm: str) -> str:
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def source_url(url: str) -> str:
    """The URL to fetch: the original, or the same file name under ``$NEURALENS_MIRROR``."""
    mirror = os.environ.get(MIRROR_ENV, "").strip()
    return f"{mirror.rstrip('/')}/{url.rsplit('/', 1)[-1]}" if mirror else url


def verify(path: Path, size: int | None, checksum: tuple[str, str] | None) -> str | None:
    """What is wrong with ``path`` (size, then checksum), or None."""
    if size is not None and path.stat().st_size != size:
        return f"{path.stat().st_size} bytes, expected {size}"
    if checksum is not None:
        algorithm, want = checksum
        got = file_digest(path, algorithm)
        if got != want:
            return f"{algorithm} {got}, expected {want}"
    return None


def download(url: str, dest: Path, size: int | None = None, checksum: tuple[str, str] | None = None,
             progress: bool = True, timeout: float = TIMEOUT) -> Path:
    """Fetch ``url`` into ``dest`` (resuming ``dest.part``), check ``size`` and ``checksum`` = (algorithm, hex).

    A file already at ``dest`` that verifies is kept. Failure is one :class:`NeuralensError` line; a corrupt
    download is deleted, never left under ``dest``.
    """
    dest = Path(dest)
    if dest.is_file() and verify(dest, size, checksum) is None:
        return dest
    part = dest.with_name(dest.name + ".part")
    src = source_url(url)
    have = part.stat().st_size if part.is_file() else 0
    request = urllib.request.Request(src, headers={"Range": f"bytes={have}-"} if have else {})
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            if have and resp.status != 206:  # the server ignored the range: start again
                have = 0
            total = None
            if resp.headers.get("Content-Length") is not None:
                total = have + int(resp.headers["Content-Length"])
            with open(part, "ab" if have else "wb") as f, Progress(total, dest.name, "B", enabled=progress) as bar:
                bar.update(have)
                for block in iter(lambda: resp.read(CHUNK), b""):
                    f.write(block)
                    bar.update(len(block))
            if total is not None and part.stat().st_size < total:
                raise http.client.IncompleteRead(b"", total - part.stat().st_size)
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or str(exc) or f"{exc.__class__.__name__}: connection ended early"
        kept = f"; {part.stat().st_size} bytes kept in {part.name}, the next try resumes" if part.is_file() else ""
        raise NeuralensError(f"could not download {src} ({reason}){kept}; check the network or set "
                             f"{MIRROR_ENV}") from None
    problem = verify(part, size, checksum)
    if problem is not None:
        part.unlink()
        raise NeuralensError(f"downloaded {src} is corrupt ({problem}); deleted, try again or set {MIRROR_ENV}")
    os.replace(part, dest)
    return dest
