"""Seeds and devices: the two things every command sets up the same way."""

from __future__ import annotations

import ctypes
import random
import signal
import sys

import numpy as np
import torch

from neuralens.core.cliargs import PRECISIONS
from neuralens.core.errors import NeuralensError


def seed_everything(seed: int) -> torch.Generator:
    """Seed python, numpy and torch; return a CPU generator for explicit use in samplers."""
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` picks CUDA when present, else CPU; an explicit unavailable device is a user error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(name)
    except RuntimeError:
        raise NeuralensError(f"unknown device {name!r}; use auto, cpu or cuda") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise NeuralensError(f"device {name!r} requested but CUDA is not available; use --device cpu")
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        raise NeuralensError(f"device {name!r}: only {torch.cuda.device_count()} CUDA device(s) here")
    if dev.type == "mps" and not torch.backends.mps.is_available():
        raise NeuralensError(f"device {name!r} requested but Apple MPS is not available; use --device cpu")
    if dev.type not in ("cpu", "cuda", "mps"):
        raise NeuralensError(f"device {name!r} cannot run a study; use auto, cpu or cuda")
    return dev




def autocast_dtype(device: torch.device, precision: str = "auto") -> torch.dtype | None:
    """The autocast dtype for ``precision`` on ``device``; None means plain float32.

    ``auto`` picks bfloat16 where the hardware computes it natively (a CUDA GPU with bf16, or a CPU with
    AVX-512-BF16/AMX, where it halves a CIFAR training step) and float32 elsewhere, where emulated bf16 is slower.
    bfloat16 keeps float32's exponent range, so no loss scaling is needed.
    """
    if precision not in PRECISIONS:
        raise NeuralensError(f"unknown precision {precision!r}; use one of {', '.join(PRECISIONS)}")
    if precision == "fp32":
        return None
    if device.type == "cuda":
        native = torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    elif device.type == "cpu":
        check = getattr(torch.cpu, "_is_avx512_bf16_supported", None)
        amx = getattr(torch.cpu, "_is_amx_tile_supported", None)
        native = bool((check and check()) or (amx and amx()))
    else:
        native = False
    if precision == "bf16" or native:
        return torch.bfloat16
    return None


def die_with_parent() -> None:
    """``preexec_fn`` for child processes: the kernel sends the child SIGTERM when its parent dies (Linux), so a
    killed ``demo`` or ``nerf compare`` never leaves a trainer writing into its run folder. No-op elsewhere."""
    if sys.platform.startswith("linux"):
        pr_set_pdeathsig = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)
