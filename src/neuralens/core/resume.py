"""Resuming and interrupting long runs, shared by both trainers.

* :func:`resume_checkpoint` reads a run's own checkpoint back and refuses one made with other settings.
* :func:`interruptible` defers Ctrl-C to the end of the current step: the loop calls ``guard.check()`` at each
  step boundary, and the checkpoint written then holds weights, optimiser, BatchNorm statistics and RNG state of
  one and the same step, so a resumed run continues exactly as an uninterrupted one. A second Ctrl-C (or any
  KeyboardInterrupt raised inside a step) stops at once; the trainer's ``save`` then rolls the step back.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from types import FrameType
from typing import Any

from neuralens.core.checkpoint import load_checkpoint
from neuralens.core.errors import NeuralensError


def resume_checkpoint(path: Path, kind: str, expected: Mapping[str, Any], section: str | None = None
                      ) -> dict[str, Any]:
    """The checkpoint at ``path``, after checking that ``config[section]`` records the ``expected`` values."""
    if not path.is_file():
        raise NeuralensError(f"--resume: no checkpoint at {path}")
    ckpt = load_checkpoint(path, kind=kind)
    recorded = ckpt["config"].get(section, {}) if section else ckpt["config"]
    for key, want in expected.items():
        have = recorded.get(key) if isinstance(recorded, dict) else None
        if have != want:
            raise NeuralensError(f"--resume: {path} has {key}={have!r} but this run asks {want!r}; use the same "
                                 "arguments or a new --out")
    if not isinstance(ckpt.get("train_state"), dict) or not ckpt["train_state"]:
        raise NeuralensError(f"--resume: {path} holds no training state (a finished export?)")
    return ckpt


class StepBoundary:
    """Remembers a Ctrl-C until the loop reaches a step boundary (``check``)."""

    def __init__(self) -> None:
        self.requested = False

    def handle(self, signum: int, frame: FrameType | None) -> None:
        if self.requested:  # the second Ctrl-C: stop now
            raise KeyboardInterrupt
        self.requested = True

    def check(self) -> None:
        """Call between steps: raises KeyboardInterrupt there if Ctrl-C was pressed during the step."""
        if self.requested:
            raise KeyboardInterrupt


@contextlib.contextmanager
def interruptible(save: Callable[[], None], path: Path, log: Callable[[str], None]) -> Iterator[StepBoundary]:
    """Run a training loop so that Ctrl-C ends it with a resumable checkpoint written by ``save``."""
    guard = StepBoundary()
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGINT, guard.handle)
    try:
        yield guard
    except KeyboardInterrupt:
        save()
        log(f"interrupted: checkpoint saved to {path}; continue with --resume")
        raise
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
