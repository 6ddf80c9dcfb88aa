"""One registry helper for every name -> builder table (classifiers, NeRF fields, NeRF variants).

Like timm's ``create_model``: the command line and the Python API look names up in one place, unknown names get
one line with the closest known names, then all of them, and registering a name twice warns instead of silently
replacing. Entries may be lazy (``"module:attribute"``), so names are known without importing torch.
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

from neuralens.core.suggest import unknown

T = TypeVar("T")


class Registry(Generic[T]):
    """``name -> item`` with a ``what`` (e.g. "model") used in error messages."""

    def __init__(self, what: str) -> None:
        self.what = what
        self._items: dict[str, T | str] = {}
        self._info: dict[str, dict[str, Any]] = {}

    def register(self, name: str, item: T | None = None, **info: Any) -> Callable[[T], T] | T:
        """``reg.register(name, item)`` or ``@reg.register(name)``, with optional metadata ``info``; a duplicate
        name warns and replaces."""

        def add(obj: T) -> T:
            if name in self._items:
                warnings.warn(f"{self.what} {name!r} registered twice; the later one wins", stacklevel=3)
            self._items[name] = obj
            self._info[name] = info
            return obj

        return add if item is None else add(item)

    def register_lazy(self, name: str, target: str, **info: Any) -> None:
        """Register ``"package.module:attribute"``, imported on first :meth:`get`, with metadata ``info``.

        Why: names (and their metadata) must be known to the command line before torch is imported.
        """
        self.register(name, target, **info)  # type: ignore[arg-type]

    def get(self, name: str) -> T:
        if name not in self._items:
            raise unknown(self.what, name, self.names())
        item = self._items[name]
        if isinstance(item, str):
            module, _, attr = item.partition(":")
            item = self._items[name] = getattr(importlib.import_module(module), attr)
        return item  # type: ignore[return-value]

    def unregister(self, name: str) -> None:
        """Remove ``name`` (a plug-in registered for a while, e.g. in a test)."""
        self.check(name)
        del self._items[name]
        self._info.pop(name, None)

    def check(self, name: str) -> str:
        """``name`` if registered, else the one-line error with the closest names (imports nothing)."""
        if name not in self._items:
            raise unknown(self.what, name, self.names())
        return name

    def info(self, name: str) -> dict[str, Any]:
        """Metadata given at registration (empty for eagerly registered items)."""
        self.check(name)
        return dict(self._info.get(name, {}))

    def names(self) -> list[str]:
        return list(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)
