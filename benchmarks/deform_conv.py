"""neuralens deform_conv2d vs torchvision's CPU kernel vs nn.Conv2d: time and peak memory, one table.

    python benchmarks/deform_conv.py            # the table in BENCHMARKS.md
    python benchmarks/deform_conv.py --reps 5
    python benchmarks/deform_conv.py --shapes 8,256,56    # a large input: chunking bounds our memory

Each (shape, implementation) runs in a fresh process. Peak memory is the op's own working set: one warm-up
forward+backward first (so shared-library code and one-off kernel set-up are already resident and are not
counted), then the kernel's peak-RSS mark is reset (``/proc/self/clear_refs``, Linux) and the peak above the
resident size of a second forward+backward is read from ``VmHWM``. Memory children run with a fixed glibc
mmap threshold so every freed large buffer leaves RSS and every new one enters it, for all three
implementations; timing children run with default settings.
Offsets are random (std 2 px), 3x3 kernel, padding 1.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import time

SHAPES = [(8, 64, 32), (4, 128, 16), (2, 32, 64), (1, 256, 56)]


def _shape(text: str) -> tuple[int, int, int]:
    """'N,C,H' from the command line (a square H x H input)."""
    try:
        n, c, h = (int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected N,C,H (three integers), got {text!r}") from None
    return n, c, h
IMPLS = ["neuralens", "torchvision", "conv2d"]


def _status_mb(key: str) -> float:
    """A ``/proc/self/status`` size field (VmRSS, VmHWM) in MiB."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"{key} not in /proc/self/status (this benchmark's memory column needs Linux)")


def _peak_mb(run) -> float:
    """Peak RSS above the current resident size while ``run()`` executes."""
    gc.collect()
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")  # reset the peak-RSS mark to the current RSS
    base = _status_mb("VmRSS")
    run()
    return _status_mb("VmHWM") - base


def child(mode: str, impl: str, n: int, c: int, h: int, reps: int) -> dict:
    """``mode`` "mem": peak working set of one forward+backward; "time": best-of-``reps`` timings."""
    import torch
    import torch.nn.functional as F
    import torchvision.ops as tvo

    from neuralens.deform import deform_conv2d

    torch.manual_seed(0)
    x = torch.randn(n, c, h, h, requires_grad=True)
    w = torch.randn(c, c, 3, 3, requires_grad=True)
    b = torch.randn(c, requires_grad=True)
    off = (torch.randn(n, 18, h, h) * 2).requires_grad_()
    fns = {
        "neuralens": lambda: deform_conv2d(x, off, w, b, padding=1),
        "torchvision": lambda: tvo.deform_conv2d(x, off, w, b, padding=1),
        "conv2d": lambda: F.conv2d(x, w, b, padding=1),
    }
    fn = fns[impl]
    fn().sum().backward()  # warm-up
    if mode == "mem":
        for t in (x, w, b, off):
            t.grad = None
        return {"peak_mb": _peak_mb(lambda: fn().sum().backward())}
    fwd, both = [], []
    for _ in range(reps):
        t0 = time.perf_counter()
        with torch.no_grad():
            fn()
        fwd.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        fn().sum().backward()
        both.append(time.perf_counter() - t0)
    return {"fwd_s": min(fwd), "fwd_bwd_s": min(both)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--shapes", nargs="+", type=_shape, default=SHAPES, metavar="N,C,H",
                    help="rows of the table (default: the four of BENCHMARKS.md)")
    ap.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        mode, impl, n, c, h = args.child
        print(json.dumps(child(mode, impl, int(n), int(c), int(h), args.reps)))
        return
    import torch

    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}")
    print("| N, C, HxW | impl | forward s | fwd+bwd s | peak MB | fwd+bwd speed-up vs torchvision |")
    print("|---|---|---|---|---|---|")
    speedups = []
    envs = {"time": None, "mem": dict(os.environ, MALLOC_MMAP_THRESHOLD_="131072")}
    for n, c, h in args.shapes:
        res = {impl: {} for impl in IMPLS}
        for impl in IMPLS:
            for mode, env in envs.items():
                out = subprocess.run([sys.executable, __file__, "--reps", str(args.reps), "--child", mode, impl,
                                      str(n), str(c), str(h)], capture_output=True, text=True, check=True, env=env)
                res[impl].update(json.loads(out.stdout.strip().splitlines()[-1]))
        speedups.append(res["torchvision"]["fwd_bwd_s"] / res["neuralens"]["fwd_bwd_s"])
        for impl in IMPLS:
            r = res[impl]
            sp = res["torchvision"]["fwd_bwd_s"] / r["fwd_bwd_s"]
            print(f"| {n}, {c}, {h}x{h} | {impl} | {r['fwd_s']:.4f} | {r['fwd_bwd_s']:.4f} | {r['peak_mb']:.0f} | "
                  f"{sp:.1f}x |", flush=True)
    speedups.sort()
    mid = len(speedups) // 2
    median = speedups[mid] if len(speedups) % 2 else (speedups[mid - 1] + speedups[mid]) / 2
    print(f"median fwd+bwd speed-up over torchvision: {median:.1f}x; slowest row: {speedups[0]:.1f}x")


if __name__ == "__main__":
    main()
