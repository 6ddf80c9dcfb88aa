"""One registry helper for every name -> builder table (classifiers, NeRF fields, NeRF variants).

Like timm's ``create_model``: the command line and the Python API look names up in one place, unknown names get
one line with the closest known names, then all of them, and registering a name twice warns instead of silently
replacing. Entries may be lazy (``"module:attribute"``), so names are known without importing torch.
"""

from __future__ import annotations

import functools
import importlib
import re
import warnings
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

from neuralens.core.errors import NeuralensError
from neuralens.core.suggest import unknown

T = TypeVar("T")


class Registry(Generic[T]):
    """``name -> item`` with a ``what`` (e.g. "model") used in error messages."""

    def __init__(self, what: str) -> None:
        self.what = what
        self._items: dict[str, T | str] = {}
        self._info: dict[str, dict[str, Any]] = {}
        #: prefix -> (target, the rule for N as text, accepts(N), info): the names ``prefix + N``
        self._families: dict[str, tuple[str, str, Callable[[int], bool], dict[str, Any]]] = {}

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

    def register_family(self, prefix: str, target: str, rule: str, accepts: Callable[[int], bool],
                        **info: Any) -> None:
        """Register every name ``prefix + N`` whose integer ``N`` ``accepts``, built by the lazy ``target`` called
        with ``depth=N`` (e.g. ``resnet`` + 6n+2). ``rule`` (e.g. "6n+2") words the accepted N in errors.

        Why: He et al.'s CIFAR nets exist at any depth of their rule; listing each would flood ``--help``.
        """
        self._families[prefix] = (target, rule, accepts, info)

    def _family(self, name: str) -> tuple[str, int] | None:
        """``(prefix, N)`` when ``name`` is ``prefix + N`` of a registered family (whether or not N is accepted)."""
        m = re.fullmatch(r"(.*?)(\d+)", name)
        if m and m.group(1) in self._families and name not in self._items:
            return m.group(1), int(m.group(2))
        return None

    def get(self, name: str) -> T:
        family = self._family(self.check(name))
        if family is not None:
            prefix, n = family
            module, _, attr = self._families[prefix][0].partition(":")
            return functools.partial(getattr(importlib.import_module(module), attr), depth=n)  # type: ignore
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
        family = self._family(name)
        if family is not None:
            prefix, n = family
            _, rule, accepts, _ = self._families[prefix]
            if not accepts(n):
                raise NeuralensError(f"unknown {self.what} {name!r}: {prefix}N needs N = {rule}; available: "
                                     f"{', '.join(self.names())}")
            return name
        if name not in self._items:
            raise unknown(self.what, name, self.names())
        return name

    def info(self, name: str) -> dict[str, Any]:
        """Metadata given at registration (empty for eagerly registered items)."""
        family = self._family(self.check(name))
        return dict(self._families[family[0]][3] if family else self._info.get(name, {}))

    def names(self) -> list[str]:
        """The registered names, each family as ``prefixN`` (its members are too many to list)."""
        return list(self._items) + [f"{p}N" for p in self._families]

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        family = self._family(name)
        return name in self._items if family is None else self._families[family[0]][2](family[1])

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)
