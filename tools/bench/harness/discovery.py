"""Find the comparisons: every ``Comparison`` defined at the top of a module in ``tools/bench/comparisons/``.

Example:
    >>> found, broken = discover()
    >>> "http-validated-vs-aiohttp" in [comparison.name for comparison in found]
    True
"""

from __future__ import annotations

import fnmatch
import importlib
from collections.abc import Sequence
from pathlib import Path

from tools.bench.harness.model import Comparison

__all__ = ["discover", "select"]

PACKAGE = "tools.bench.comparisons"
FOLDER = Path(__file__).resolve().parent.parent / "comparisons"


def discover() -> tuple[list[Comparison], dict[str, str]]:
    """(comparisons in file then definition order, {module: error} for modules that failed to import).

    A module exports a comparison by binding it (or a list/tuple of them) to any top-level name.
    """
    found: list[Comparison] = []
    broken: dict[str, str] = {}
    for path in sorted(FOLDER.glob("*.py")):
        if path.name.startswith("_"):
            continue
        module_name = f"{PACKAGE}.{path.stem}"
        try:
            module = importlib.import_module(module_name)
        except Exception as error:
            broken[module_name] = f"{type(error).__name__}: {error}"
            continue
        for value in vars(module).values():
            items = value if isinstance(value, list | tuple) else (value,)
            found.extend(item for item in items if isinstance(item, Comparison) and item not in found)
    names = [comparison.name for comparison in found]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"comparison names used twice: {', '.join(duplicates)}")
    return found, broken


def select(comparisons: Sequence[Comparison], patterns: Sequence[str]) -> list[Comparison]:
    """The comparisons whose name matches one of ``patterns`` (shell-style: ``http-*``); all when none given."""
    if not patterns:
        return list(comparisons)
    chosen = [c for c in comparisons if any(fnmatch.fnmatchcase(c.name, pattern) for pattern in patterns)]
    if not chosen:
        known = ", ".join(c.name for c in comparisons)
        raise SystemExit(f"no comparison matches {' '.join(patterns)} (known: {known})")
    return chosen
