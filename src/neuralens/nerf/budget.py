"""A NeRF comparison's budget: what every variant shares, and the words a run and its report use for it.

Light on purpose (no torch): the report reads a finished comparison's budget from its compare.json without
loading the NeRF study, and ``nerf compare --seeds --resume`` checks a finished seed against the one asked for.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from neuralens.core.errors import NeuralensError


def budget_words(iters: int | None, seconds: float | None) -> str:
    """``"2000 iterations"``, ``"180 s"``, or ``"an unrecorded budget"`` (a compare.json older than budgets)."""
    if iters is not None:
        return f"{iters} iterations"
    return f"{seconds:g} s" if seconds is not None else "an unrecorded budget"


def recorded_budget(summary: dict[str, Any]) -> str:
    """The budget a finished comparison (its compare.json or seeds.json) ran, in :func:`budget_words`."""
    return budget_words(summary.get("iters_budget"), summary.get("seconds_budget"))


@dataclass(frozen=True)
class Budget:
    """What every variant of a comparison shares: training ``seconds`` or steps (``iters``; exactly one), seed,
    device, precision and, when given, rays per step (else each recipe's own)."""

    seconds: float | None = None
    seed: int = 0
    device: str = "auto"
    batch_rays: int | None = None
    iters: int | None = None
    precision: str = "auto"

    def __post_init__(self) -> None:
        if (self.seconds is None) == (self.iters is None):
            raise NeuralensError("a comparison's budget is either seconds or iterations: give exactly one")

    def describe(self) -> str:
        """``"180 s"`` or ``"2000 iterations"``: the log's and the report's words for it."""
        return budget_words(self.iters, self.seconds)

    def overrides(self, score_at: tuple[int, ...] = ()) -> dict[str, Any]:
        """As :func:`~neuralens.nerf.variants.make_config` takes them (``score_at``: see NerfConfig)."""
        return {"seconds": self.seconds, "iters": self.iters, "seed": self.seed, "device": self.device,
                "batch_rays": self.batch_rays, "score_at": score_at or None, "precision": self.precision}

    def argv(self, score_at: tuple[int, ...] = ()) -> list[str]:
        """As ``neuralens nerf train`` takes them."""
        length = ["--iters", str(self.iters)] if self.iters is not None else ["--seconds", str(self.seconds)]
        rays = ["--batch-rays", str(self.batch_rays)] if self.batch_rays is not None else []
        scored = ["--score-at", ",".join(map(str, score_at))] if score_at else []
        return [*length, "--seed", str(self.seed), "--device", self.device, "--precision", self.precision, *rays,
                *scored]
