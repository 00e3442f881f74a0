"""A package's exports loaded on first use, so importing it does not import every module behind it."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from importlib import import_module
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, exports: Mapping[str, str], names: Sequence[str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The module-level ``__getattr__`` and ``__dir__`` of ``package``: ``exports`` maps a name to its module.

    Example:
        >>> getattr_, dir_ = lazy_exports("betrue.server", {"Response": "betrue.server.response"}, ["Response"])
        >>> getattr_("Response").__name__, dir_()
        ('Response', ['Response'])
    """

    def load(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_module(module), name)
        setattr(sys.modules[package], name, value)  # found once: later lookups skip __getattr__
        return value

    def listing() -> list[str]:
        return sorted(names)

    return load, listing
