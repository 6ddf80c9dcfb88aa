""""Did you mean ...?" for every name a user types: models, variants, samplers, scene kinds, normalisations, steps.

One helper so each unknown-name error reads the same way: the name, the closest valid names (difflib), then the
full list.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from neuralens.core.errors import NeuralensError


def closest(name: str, choices: Iterable[str], n: int = 3) -> list[str]:
    """The valid names nearest to ``name`` (case-insensitive), best first; empty when none is close."""
    options = list(choices)
    lower = {c.lower(): c for c in options}
    found = difflib.get_close_matches(name.lower(), list(lower), n=n, cutoff=0.6)
    prefixed = [c for c in options if name and c.lower().startswith(name.lower()) and c.lower() not in found]
    return [lower[f] for f in found] + prefixed[: max(0, n - len(found))]


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'a' or 'b'?)`` for the closest valid names, or an empty string."""
    near = closest(name, choices)
    if not near:
        return ""
    return " (did you mean " + " or ".join(repr(c) for c in near) + "?)"


def unknown(what: str, name: str, choices: Iterable[str]) -> NeuralensError:
    """The one-line error for a name that is not among ``choices``: closest names first, then all of them."""
    options = list(choices)
    return NeuralensError(f"unknown {what} {name!r}{did_you_mean(name, options)}; available: {', '.join(options)}")
