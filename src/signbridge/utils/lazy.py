"""Lazy package faces: public names imported from their modules on first use (PEP 562 module ``__getattr__``).

Used by ``signbridge``, ``signbridge.data`` and ``signbridge.demo`` so that importing a package costs nothing
until a name is used (``import signbridge`` imports neither torch nor transformers).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(
    package: str, namespace: dict[str, Any], names: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of a package whose public ``names`` (name -> absolute module) load lazily.

    A loaded value is stored in ``namespace`` (the package's ``globals()``), so later look-ups skip ``__getattr__``.
    """

    def __getattr__(name: str) -> Any:
        if name not in names:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(names[name]), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(names))

    return __getattr__, __dir__


__all__ = ["lazy_exports"]
