"""How sure a mean over a few runs is: a mean and its 95% interval (Student's t), without scipy.

Seeds are few (3-5 runs of a minute-long training each), so the normal 1.96 would claim far more than the runs
show; the t quantile widens the interval by as much as so few samples demand.
"""

from __future__ import annotations

import math
from typing import Any

#: Student's t 0.975 quantiles by degrees of freedom 1..30 (two-sided 95%); beyond 30 the last is used, which is
#: slightly wider than the exact value, never narrower
T_975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
         2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042)


def t_975(dof: int) -> float:
    """The two-sided 95% quantile of Student's t with ``dof`` >= 1 degrees of freedom."""
    if dof < 1:
        raise ValueError("a t interval needs at least 2 values (1 degree of freedom)")
    return T_975[min(dof, len(T_975)) - 1]


def interval_text(ci95: list[float] | None) -> str | None:
    """A :func:`mean_interval` ``ci95`` as "[-0.32, +0.19]" (signed, 2 decimals: dB gains), None without one. A
    bound that 2 decimals would show as 0.00 gets 3 ("-0.001"): which side of zero it lies on is the verdict."""
    return f"[{_bound(ci95[0])}, {_bound(ci95[1])}]" if ci95 else None


def _bound(x: float) -> str:
    """One signed interval bound in :func:`interval_text`'s format."""
    return f"{x:+.3f}" if 0 < abs(x) < 0.005 else f"{x:+.2f}"


def mean_interval(values: list[float]) -> dict[str, Any]:
    """``n``, ``mean``, sample standard deviation ``sd`` and the 95% interval ``ci95`` [low, high] of the mean
    (None for a single value: one run has no spread to judge it by)."""
    n = len(values)
    if n == 0:
        raise ValueError("mean_interval of no values")
    mean = sum(values) / n
    if n == 1:
        return {"n": 1, "mean": mean, "sd": None, "ci95": None}
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    half = t_975(n - 1) * sd / math.sqrt(n)
    return {"n": n, "mean": mean, "sd": sd, "ci95": [mean - half, mean + half]}
