"""Atomic file output and run-folder bookkeeping.

Every writer goes through a temporary file in the destination folder followed by ``os.replace``, so an
interrupted command never leaves a half-written JSON, checkpoint or figure behind. This module does not import
torch: the command line uses it (``check_out``) before torch is loaded.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import platform
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from neuralens.core import VERSION
from neuralens.core.errors import NeuralensError


def log(msg: str) -> None:
    """Progress and notes go to stderr, so stdout carries only a command's result; under torchrun rank 0 speaks
    for all."""
    if os.environ.get("RANK", "0") == "0":
        print(msg, file=sys.stderr, flush=True)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only if the block succeeds."""
    dest = Path(path)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=dest.suffix or ".tmp", dir=dest.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    umask = os.umask(0)
    os.umask(umask)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o666 & ~umask)
        os.replace(tmp_path, dest)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (np.floating, np.integer)):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if hasattr(obj, "detach") and hasattr(obj, "tolist"):  # a torch tensor (torch itself is not imported here)
        return obj.detach().cpu().tolist()
    if isinstance(obj, Path):
        return str(obj)
    return obj


#: the version of every file layout neuralens writes (run-folder JSON, checkpoints); a change of any layout bumps it
SCHEMA = 1


def write_json(path: str | os.PathLike[str], data: dict[str, Any]) -> Path:
    """Write ``data`` as indented JSON atomically (numpy/torch scalars and paths converted), stamped with the
    ``schema`` and ``neuralens`` version that :func:`read_json` checks."""
    stamped = {"schema": SCHEMA, "neuralens": VERSION, **data}
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(_jsonable(stamped), indent=2, allow_nan=True) + "\n")
    return Path(path)


def schema_error(path: str | os.PathLike[str], written_by: object, schema: object) -> NeuralensError:
    """The one line for a file neuralens wrote in another layout: which version wrote it, and what to do."""
    return NeuralensError(f"{path}: written by neuralens {written_by or 'before 0.1.0'}, schema {schema}; this is "
                          f"neuralens {VERSION}, schema {SCHEMA}: rerun the command that made it")


def read_json(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Parse a JSON file neuralens wrote (see :func:`write_json`); a missing, malformed or other-schema file is a
    one-line :class:`NeuralensError` naming it. Foreign JSON (captures, cards of users) is read elsewhere."""
    p = Path(path)
    if not p.is_file():
        raise NeuralensError(f"{p}: file not found")
    try:
        data = json.loads(p.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise NeuralensError(f"{p}: not valid JSON ({exc})") from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        schema = data.get("schema", "none") if isinstance(data, dict) else "none"
        raise schema_error(p, data.get("neuralens") if isinstance(data, dict) else None, schema)
    return data


def read_npz(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Every array of an ``.npz`` (no pickles); an unreadable file is a one-line error naming it."""
    try:
        with np.load(path, allow_pickle=False) as f:
            return {k: f[k] for k in f.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as exc:
        raise NeuralensError(f"{path}: cannot read as .npz ({exc})") from None


def save_npz(path: str | os.PathLike[str], **arrays: Any) -> Path:
    """``np.savez_compressed`` through a temporary file."""
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(fh, **{k: np.asarray(v) for k, v in arrays.items()})
    return Path(path)


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def environment() -> dict[str, Any]:
    """Versions that decide whether a run can be reproduced, the device torch sees and its CPU threads (when it is
    loaded: a model card's timings mean little without the thread count)."""
    torch = sys.modules.get("torch")
    device = ("cuda" if torch.cuda.is_available() else "cpu") if torch is not None else "unknown"
    return {
        "python": sys.version.split()[0],
        "torch": getattr(torch, "__version__", None) or _version("torch"),
        "torchvision": _version("torchvision"),
        "numpy": np.__version__,
        "platform": platform.platform(),
        "cpu": cpu_name(),
        "device": device,
        "threads": torch.get_num_threads() if torch is not None else None,
    }


def cpu_name() -> str:
    """The CPU model (timings and some results depend on it: AVX-512 vs AVX2 machines differ)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def write_config(out: str | os.PathLike[str], args: dict[str, Any]) -> Path:
    """Write ``config.json`` (all arguments, seed, versions) into a run folder."""
    clean = {k: v for k, v in args.items() if not callable(v)}
    return write_json(Path(out) / "config.json", {"args": clean, "env": environment()})


def check_out(out: str | os.PathLike[str]) -> Path:
    """``--out`` must be a folder (or not exist yet): say so before any work, not after it."""
    p = Path(out)
    if p.exists() and not p.is_dir():
        raise NeuralensError(f"--out {p}: is a file, not a folder; give a folder path")
    return p


@contextlib.contextmanager
def run_folder(out: str | os.PathLike[str], args: dict[str, Any]) -> Iterator[Path]:
    """Claim the run folder ``out`` for one command and write its ``config.json``.

    Call it only once every argument and input has been checked, so a rejected command never creates or touches
    a run folder. A second command claiming the same folder while the first runs is refused (an advisory lock
    on ``out/.lock``). The lock file is removed when the block ends in any way (success, error, Ctrl-C); a killed
    process leaves it behind unlocked, which the next command simply takes.
    """
    folder = check_out(out)
    folder.mkdir(parents=True, exist_ok=True)
    lock = folder / ".lock"
    handle = _take_lock(lock, folder)
    try:
        write_config(folder, args)
        yield folder
    finally:
        with contextlib.suppress(FileNotFoundError):
            lock.unlink()  # still holding the lock, so nobody can be between open and flock on this file
        handle.close()


def _take_lock(lock: Path, folder: Path) -> Any:
    """An exclusive lock on ``lock``, re-tried if another process removed the file between our open and flock."""
    while True:
        handle = open(lock, "a")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise NeuralensError(f"{folder}: another neuralens command is writing into this folder; wait for it "
                                 "or give another --out") from None
        try:
            same = os.fstat(handle.fileno()).st_ino == os.stat(lock).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return handle
        handle.close()
