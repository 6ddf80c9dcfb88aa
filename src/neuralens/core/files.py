"""What a weights file is, told from its first bytes, without importing torch.

The command line checks ``--weights`` / ``--checkpoint`` before any data is loaded (and before torch, whose import
alone takes seconds): a missing file, a folder, a truncated or foreign file is answered at once. Formats:

* ``zip``: PyTorch's own format since 1.6 (``torch.save``), a zip holding ``*/data.pkl``;
* ``legacy``: PyTorch's pre-1.6 format, a pickle that starts with torch's magic number;
* ``safetensors``: an 8-byte little-endian header length, then a JSON header;
* ``pickle``: a bare pickle (``torch.load`` reads some of these too).

Whether a zip or pickle holds only tensors is decided later by ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import json
import struct
import zipfile
from pathlib import Path

from neuralens.core.errors import NeuralensError

#: ``pickle.dumps(0x1950a86a20f9469cfc6c, protocol=2)`` as torch writes it first in a legacy file
TORCH_LEGACY_MAGIC = b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19"
FORMATS = ("zip", "legacy", "safetensors", "pickle")


def sniff(path: str | Path) -> str:
    """One of :data:`FORMATS`, or ``unknown``; a missing path or a folder is a one-line error."""
    p = Path(path)
    if not p.exists():
        raise NeuralensError(f"{p}: file not found")
    if p.is_dir():
        raise NeuralensError(f"{p}: is a folder; give a weights file")
    with open(p, "rb") as fh:
        head = fh.read(16)
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(p) as z:
                if any(n.endswith("data.pkl") for n in z.namelist()):
                    return "zip"
        except zipfile.BadZipFile:
            return "unknown"
        return "unknown"
    if head.startswith(TORCH_LEGACY_MAGIC):
        return "legacy"
    if len(head) >= 9 and head[8:9] == b"{" and _safetensors_header(p) is not None:
        return "safetensors"
    if head[:1] == b"\x80" and len(head) > 2 and head[1] in range(2, 6):
        return "pickle"
    return "unknown"


def _safetensors_header(p: Path) -> dict | None:
    """The JSON header of a safetensors file, or None if the bytes do not form one."""
    with open(p, "rb") as fh:
        (n,) = struct.unpack("<Q", fh.read(8))
        if n > 100_000_000 or n > p.stat().st_size - 8:
            return None
        try:
            header = json.loads(fh.read(n))
        except (json.JSONDecodeError, UnicodeDecodeError):
            return None
    return header if isinstance(header, dict) else None


def check_weights_file(path: str | Path, what: str = "--weights") -> str:
    """The format of a weights file, or one line saying why it cannot be one (missing, folder, foreign bytes)."""
    kind = sniff(path)
    if kind == "unknown":
        size = Path(path).stat().st_size
        raise NeuralensError(f"{what} {path}: not a PyTorch checkpoint or safetensors file ({size} bytes that are "
                             "neither a torch.save zip, a legacy torch pickle nor safetensors)")
    return kind
