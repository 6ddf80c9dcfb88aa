"""Package namespaces that import their members on first use (PEP 562).

Why: ``neuralens --help`` and every argument check must answer before torch is imported (torch alone takes
seconds), yet ``from neuralens.nerf import render_image`` should keep working. A package ``__init__`` therefore
names its public members and the module each lives in; the module is imported when a member is first asked for.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def lazy_exports(package: str, members: dict[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]],
                                                                   list[str]]:
    """``(__getattr__, __dir__, __all__)`` for ``package`` whose public ``members`` map name -> defining module."""

    def __getattr__(name: str) -> Any:
        if name not in members:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(members[name]), name)

    def __dir__() -> list[str]:
        return sorted(members)

    return __getattr__, __dir__, sorted(members)
