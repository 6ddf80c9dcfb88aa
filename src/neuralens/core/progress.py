"""Progress of long work on stderr: a tqdm bar with ETA in a terminal, a plain line every ~10% in logs and CI.

Every loop that can run longer than a few seconds goes through :func:`progress` (or :class:`Progress` for work
measured in seconds, like a NeRF time budget). stdout stays free for a command's machine-readable result lines.
``--quiet`` (or ``NEURALENS_QUIET=1``) silences all of it.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

from tqdm.auto import tqdm

T = TypeVar("T")
_QUIET = {"on": False}


def set_quiet(quiet: bool) -> None:
    """Silence (or restore) progress output for this process."""
    _QUIET["on"] = quiet


def is_quiet() -> bool:
    """-q, $NEURALENS_QUIET, or a torchrun process other than rank 0 (one progress line per step, not one per
    process)."""
    return (_QUIET["on"] or os.environ.get("NEURALENS_QUIET", "") not in ("", "0")
            or os.environ.get("RANK", "0") != "0")


def _fmt_seconds(s: float) -> str:
    s = max(0, round(s))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


class Progress:
    """``total`` units of work (``None``: unknown); ``update`` as they are done.

    In a terminal this is a tqdm bar on stderr; otherwise a line ``desc: k/total (p%), elapsed m:ss, ETA m:ss``
    each time another tenth is done (and at the end), so a log shows progress without carriage returns.
    """

    def __init__(self, total: float | None, desc: str, unit: str = "it", leave: bool = False,
                 enabled: bool = True) -> None:
        self.total, self.desc, self.unit = total, desc, unit
        self.n = 0.0
        self.start = time.perf_counter()
        self.postfix = ""
        self._next_tenth = 1
        self._bar = None
        self._quiet = is_quiet() or not enabled
        if not self._quiet and sys.stderr.isatty():
            self._bar = tqdm(total=total, desc=desc, unit=unit, leave=leave, file=sys.stderr, dynamic_ncols=True,
                             unit_scale=unit == "B")

    def update(self, n: float = 1) -> None:
        self.n += n
        if self._bar is not None:
            self._bar.update(n)
        elif not self._quiet and self.total and self._next_tenth <= 10 and \
                self.n >= self.total * self._next_tenth / 10:
            while self._next_tenth <= 10 and self.n >= self.total * self._next_tenth / 10:
                self._next_tenth += 1  # one line however many tenths this update crossed
            self._line()

    def set_postfix(self, **values: Any) -> None:
        """Numbers shown beside the count (loss, accuracy, PSNR)."""
        self.postfix = ", ".join(f"{k} {v}" for k, v in values.items())
        if self._bar is not None:
            self._bar.set_postfix(values, refresh=False)

    def _line(self) -> None:
        elapsed = time.perf_counter() - self.start
        done = min(self.n, self.total) if self.total else self.n
        share = done / self.total if self.total else 0.0
        eta = elapsed * (1 - share) / share if share > 0 else float("nan")
        count = f"{done:.0f}/{self.total:.0f} {self.unit}" if self.total else f"{done:.0f} {self.unit}"
        if self.unit == "s":
            count = f"{_fmt_seconds(done)}/{_fmt_seconds(self.total or 0)} of its budget"
        elif self.unit == "B":
            count = f"{done / 2**20:.1f}" + (f"/{self.total / 2**20:.1f}" if self.total else "") + " MiB"
        extra = f", {self.postfix}" if self.postfix else ""
        eta_text = _fmt_seconds(eta) if eta == eta else "?"
        print(f"{self.desc}: {count} ({100 * share:.0f}%), elapsed {_fmt_seconds(elapsed)}, ETA {eta_text}{extra}",
              file=sys.stderr, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        elif not self._quiet and self.total and self._next_tenth <= 10 and self.n > 0:
            self._line()  # stopped early (a time budget, Ctrl-C): say where
        self._next_tenth = 11

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def progress(iterable: Iterable[T], desc: str, total: int | None = None, unit: str = "it") -> Iterator[T]:
    """Iterate ``iterable`` while showing progress (see :class:`Progress`)."""
    if total is None and hasattr(iterable, "__len__"):
        total = len(iterable)  # type: ignore[arg-type]
    bar = Progress(total, desc, unit)
    try:
        for item in iterable:
            yield item
            bar.update(1)
    finally:
        bar.close()
