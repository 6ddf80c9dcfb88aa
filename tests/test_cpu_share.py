"""The CPU accounting that tells a timing of this op from a timing of other processes' contention."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from neuralens.core.cpu_share import CpuSnapshot, others_share, snapshot

#: /proc/stat and /proc/self/stat as Linux writes them (ticks: user nice system idle iowait irq softirq steal guest
#: guest_nice); the command name holds a space and a parenthesis, as a process may name itself
STAT = """cpu  {a} 0 0 {i} 0 0 0 0 0 0
cpu0 100 0 50 {i0} 10 0 0 0 7 0
cpu1 {u1} 0 0 400 0 0 0 0 0 0
cpu2 900 0 0 0 0 0 0 0 0 0
intr 123
"""
SELF = "4242 (python x) y) S 1 4242 4242 0 -1 4194304 10 0 0 0 {ut} {st} 0 0 20 0 3 0 100 0 0\n"


def _proc(root: Path, i0: int, u1: int, ut: int, st: int) -> Path:
    (root / "self").mkdir(parents=True, exist_ok=True)
    (root / "stat").write_text(STAT.format(a=1, i=1, i0=i0, u1=u1))
    (root / "self" / "stat").write_text(SELF.format(ut=ut, st=st))
    return root


def test_a_snapshot_sums_only_this_process_s_cores_and_its_own_threads(tmp_path: Path) -> None:
    """Cores 0 and 1 of three (the affinity); iowait counts as idle, guest time is not counted twice."""
    snap = snapshot(_proc(tmp_path, i0=300, u1=200, ut=40, st=5), cores={0, 1})
    # cpu0: busy 100 + 50, idle 300 + 10, guest 7 left out; cpu1: busy 200, idle 400; cpu2 (not ours) ignored
    assert snap == CpuSnapshot(busy=350, total=1060, own=45)
    later = snapshot(_proc(tmp_path, i0=300, u1=300, ut=90, st=5), cores={0, 1})  # 100 ticks, 50 of them ours
    assert others_share(snap, later) == pytest.approx(0.5)
    assert others_share(snap, snap) is None and others_share(None, later) is None
    assert snapshot(tmp_path / "nowhere") is None  # no /proc: the share is unknown, never 0


@pytest.mark.skipif(snapshot() is None, reason="needs Linux /proc")
def test_a_busy_process_beside_a_sleeping_one_takes_its_core() -> None:
    """A busy loop pinned to one core while this process sleeps: nearly all of that core's time went to others
    (counted on that core alone, so the test costs one core whatever the machine has)."""
    core = min(os.sched_getaffinity(0))
    loop = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        os.sched_setaffinity(loop.pid, {core})
        time.sleep(0.5)  # let it start
        before = snapshot(cores={core})
        time.sleep(1.0)
        share = others_share(before, snapshot(cores={core}))
    finally:
        loop.kill()
        loop.wait()
    assert share is not None and share > 0.6
