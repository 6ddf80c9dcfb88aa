"""Argument helpers every command shares: one help formatter, checked number types, seed/device options, and
command-line options generated from a config dataclass so each training option is written once.

A config field becomes an option by carrying metadata from :func:`option`::

    lr: float = option(0.2, "peak learning rate", type=positive_float)

:func:`add_options` turns such fields into ``--lr`` and friends; :func:`options_from` reads them back into the
constructor's keyword arguments.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any


class Formatter(argparse.RawDescriptionHelpFormatter):
    """Examples keep their line breaks; an option's default is shown once: appended unless its help already
    speaks of its default, and never for ``None`` / off switches, which mean "not given"."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if (not action.option_strings or "default" in text or action.default in (None, False, argparse.SUPPRESS)
                or action.default == "" or action.nargs == 0):  # nargs 0: a switch, whose help says what it does
            return text
        return f"{text} (default: %(default)s)"


def number(kind: type, low: float | None = None, high: float | None = None, low_open: bool = False,
           what: str = "") -> Callable[[str], Any]:
    """An argparse ``type`` for a finite int/float within [low, high] (``low_open``: strictly above ``low``)."""

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {'an integer' if kind is int else 'a number'}, "
                                             f"got {text!r}") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"must be finite, got {text}")
        if low is not None and (value <= low if low_open else value < low):
            raise argparse.ArgumentTypeError(f"must be {'>' if low_open else '>='} {low:g}, got {text}")
        if high is not None and value > high:
            raise argparse.ArgumentTypeError(f"must be <= {high:g}, got {text}")
        return value

    parse.__name__ = what or kind.__name__  # argparse names the type in its messages
    return parse


positive_int = number(int, 1, what="positive integer")
nonneg_int = number(int, 0, what="non-negative integer")
positive_float = number(float, 0, low_open=True, what="positive number")
nonneg_float = number(float, 0, what="non-negative number")
finite_float = number(float, what="number")
#: channel width multipliers beyond 8x of ResNet18/VGG16 do not fit a workstation's memory
width_multiplier = number(float, 0, 8.0, low_open=True, what="width multiplier")

#: autocast choices of training steps (see :func:`neuralens.core.runtime.autocast_dtype`)
PRECISIONS = ("auto", "fp32", "bf16")
_DEVICE = re.compile(r"^(auto|cpu|cuda(:\d+)?|mps)$")


def device_name(text: str) -> str:
    """``auto``, ``cpu``, ``cuda[:N]`` or ``mps``, and plausibly present (checked before torch is imported: no
    NVIDIA driver means no CUDA; the runner's ``resolve_device`` makes the full check)."""
    if not _DEVICE.match(text):
        raise argparse.ArgumentTypeError(f"unknown device {text!r}; use auto, cpu or cuda[:N]")
    if text.startswith("cuda") and not (Path("/proc/driver/nvidia/version").exists() or os.name == "nt"):
        raise argparse.ArgumentTypeError(f"device {text!r} requested but CUDA is not available (no NVIDIA driver); "
                                         "use --device cpu")
    if text == "mps" and sys.platform != "darwin":
        raise argparse.ArgumentTypeError("device 'mps' requested but Apple MPS is not available; use --device cpu")
    return text


def add_common(p: argparse.ArgumentParser) -> None:
    """``--seed`` and ``--device``, the two options every computing command has."""
    p.add_argument("--seed", type=nonneg_int, default=0, help="seed for every random choice")
    p.add_argument("--device", type=device_name, default="auto", help="auto | cpu | cuda[:N]")


def _int_list(text: str, what: str, low: int) -> tuple[int, ...]:
    """Comma-separated integers >= ``low``, sorted, each once (``what`` names them in the error)."""
    try:
        values = {int(t) for t in split_list(text)}
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated {what}, got {text!r}") from None
    if not values or min(values) < low:
        kind = "positive" if low == 1 else "non-negative"
        raise argparse.ArgumentTypeError(f"{what} must be {kind} integers, got {text!r}")
    return tuple(sorted(values))


def iteration_list(text: str) -> tuple[int, ...]:
    """An argparse ``type`` for comma-separated positive iteration counts ("247,391"), sorted, each once."""
    return _int_list(text, "iteration counts", 1)


def seed_list(text: str) -> tuple[int, ...]:
    """An argparse ``type`` for comma-separated seeds ("0,2,3"), at least two: a spread needs two runs."""
    seeds = _int_list(text, "seeds", 0)
    if len(seeds) < 2:
        raise argparse.ArgumentTypeError(f"give at least two different seeds (a spread needs two runs), got {text!r}")
    return seeds


def split_list(text: str | None, keep_empty: bool = False) -> list[str]:
    """Comma-separated words; ``keep_empty`` keeps positions ("a,,b" -> ["a", "", "b"])."""
    if not text:
        return []
    parts = [t.strip() for t in text.split(",")]
    return parts if keep_empty else [t for t in parts if t]


def option(default: Any, help: str, **argparse_kw: Any) -> Any:
    """A dataclass field that is also a command-line option (``flag`` overrides the ``--field-name`` spelling)."""
    return dataclasses.field(default=default, metadata={"help": help, **argparse_kw})


def cli_fields(cls: type) -> list[dataclasses.Field]:
    return [f for f in dataclasses.fields(cls) if "help" in f.metadata]


def add_options(p: argparse.ArgumentParser | argparse._ArgumentGroup, cls: type, overrides: bool = False) -> None:
    """One option per :func:`option` field of dataclass ``cls``.

    ``overrides=True`` gives every option the default ``None`` ("keep the recipe's value"), for configs whose
    defaults come from a named recipe rather than from the dataclass.
    """
    for f in cli_fields(cls):
        kw = dict(f.metadata)
        flag = kw.pop("flag", "--" + f.name.replace("_", "-"))
        p.add_argument(flag, dest=f.name, default=None if overrides else f.default, **kw)


def options_from(cls: type, args: argparse.Namespace, skip_none: bool = False) -> dict[str, Any]:
    """The values of ``cls``'s option fields in ``args`` (``skip_none``: only those the user gave)."""
    out = {f.name: getattr(args, f.name) for f in cli_fields(cls) if hasattr(args, f.name)}
    return {k: v for k, v in out.items() if v is not None} if skip_none else out
