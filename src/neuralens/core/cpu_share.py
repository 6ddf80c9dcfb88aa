"""How much of the CPU other processes took, on the cores this one may use, while it timed something.

A timing taken while other work ran says little, and can say the opposite of the truth: beside two busy loops on
2 cores the quick demo's deformable op timed 7.8x *slower* than torchvision, where alone it is 5.8x faster (a likely
cause, not traced: each parallel region waits for a descheduled thread, which costs an op of many small kernels
more than one big kernel). The rounds of such a run can agree with each other, so their spread does not reveal it;
the CPU accounting does. Linux only (``/proc``); elsewhere the share is unknown (None) and no claim is made from it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

#: above this share of its cores' time taken by other processes, a timing is not evidence of speed
OTHER_WORK_LIMIT = 0.25


@dataclass(frozen=True)
class CpuSnapshot:
    """Clock ticks: the busy and total time of the cores this process may run on, and its own (all threads)."""

    busy: int
    total: int
    own: int


def _cores() -> set[int] | None:
    """The cores this process may run on (its affinity): only their time says what competed with it."""
    try:
        return set(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return None


def snapshot(proc: Path = Path("/proc"), cores: set[int] | None = None) -> CpuSnapshot | None:
    """The ticks of the cores this process may run on (``cores``, default its affinity) and its own ticks now;
    None where ``/proc`` cannot be read (not Linux)."""
    cores = _cores() if cores is None else cores
    try:
        busy = total = 0
        for line in (proc / "stat").read_text().splitlines():
            name, *values = line.split()
            if not (name.startswith("cpu") and name[3:].isdigit() and (cores is None or int(name[3:]) in cores)):
                continue
            ticks = [int(x) for x in values]
            idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)  # idle + iowait
            all_ticks = sum(ticks[:8])  # guest time (fields 9-10) is already counted in user time
            busy, total = busy + all_ticks - idle, total + all_ticks
        # after the command name (which may hold spaces and parentheses): state, ..., utime (field 14), stime (15)
        own_fields = (proc / "self" / "stat").read_text().rsplit(")", 1)[1].split()
        own = int(own_fields[11]) + int(own_fields[12])
    except (OSError, ValueError, IndexError):
        return None
    return CpuSnapshot(busy=busy, total=total, own=own) if total else None


def others_share(before: CpuSnapshot | None, after: CpuSnapshot | None) -> float | None:
    """The fraction of the counted cores' time between two snapshots spent by other processes (0: only this one
    ran)."""
    if before is None or after is None or after.total <= before.total:
        return None
    others = (after.busy - before.busy) - (after.own - before.own)
    return min(1.0, max(0.0, others / (after.total - before.total)))
