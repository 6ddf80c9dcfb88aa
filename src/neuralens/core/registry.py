"""One registry helper for every name -> builder table (classifiers, NeRF fields, NeRF variants).

Like timm's ``create_model``: the command line and the Python API look names up in one place, unknown names
get one line that lists the known ones, and registering a name twice warns instead of silently replacing.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from neuralens.core.errors import NeuralensError

T = TypeVar("T")


class Registry(Generic[T]):
    """``name -> item`` with a ``what`` (e.g. "model") used in error messages."""

    def __init__(self, what: str) -> None:
        self.what = what
        self._items: dict[str, T] = {}

    def register(self, name: str, item: T | None = None) -> Callable[[T], T] | T:
        """``reg.register(name, item)`` or ``@reg.register(name)``; a duplicate name warns and replaces."""

        def add(obj: T) -> T:
            if name in self._items:
                warnings.warn(f"{self.what} {name!r} registered twice; the later one wins", stacklevel=3)
            self._items[name] = obj
            return obj

        return add if item is None else add(item)

    def get(self, name: str) -> T:
        if name not in self._items:
            raise NeuralensError(f"unknown {self.what} {name!r}; available: {', '.join(self.names())}")
        return self._items[name]

    def names(self) -> list[str]:
        return list(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)
