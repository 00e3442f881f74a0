"""Sizes in human units, the start-up report of loaded files, and the memory budget check."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from betrue.server.ext import StartError

__all__ = ["MemoryBudgetError", "check_budget", "human_size", "report_lines"]

_UNITS = ("B", "KiB", "MiB", "GiB", "TiB")


class MemoryBudgetError(StartError, RuntimeError):
    """The files of a StaticService need more memory than ``STATIC_MEMORY_BUDGET`` allows."""


def human_size(size: int) -> str:
    """``size`` bytes in binary units, one decimal at most and no padding.

    Example:
        >>> human_size(0), human_size(512), human_size(1229), human_size(2048), human_size(3565158)
        ('0 B', '512 B', '1.2 KiB', '2 KiB', '3.4 MiB')
    """
    value = float(size)
    unit = 0
    while value >= 1024 and unit < len(_UNITS) - 1:
        value /= 1024
        unit += 1
    if unit == 0:
        return f"{size} B"
    text = f"{value:.1f}"
    if text.endswith(".0"):
        text = text[:-2]
    if text == "1024" and unit < len(_UNITS) - 1:  # 1023.96 KiB rounds up to the next unit
        text, unit = "1", unit + 1
    return f"{text} {_UNITS[unit]}"


def report_lines(
    name: str, prefix: str, root: str, files: Sequence[tuple[str, int, Sequence[tuple[str, int]]]]
) -> list[str]:
    """The start-up log: a summary line, then each file with its size (and its compressed copies).

    ``files`` holds ``(key, size, [(encoding, size), ...])``. No entry is empty or zero-padded.

    Example:
        >>> report_lines("static", "/", "public", [("index.html", 1229, [("gzip", 600)]), ("a.js", 10, [])])
        ['static: 2 files, 1.2 KiB (with compressed copies 1.8 KiB) from public at /', \
'  index.html 1.2 KiB (gzip 600 B)', '  a.js 10 B']
    """
    total = sum(size for _, size, _ in files)
    held = total + sum(size for _, _, variants in files for _, size in variants)
    count = f"{len(files)} file" + ("" if len(files) == 1 else "s")
    extra = f" (with compressed copies {human_size(held)})" if held != total else ""
    lines = [f"{name}: {count}, {human_size(total)}{extra} from {root} at {prefix}"]
    for key, size, variants in files:
        copies = ", ".join(f"{encoding} {human_size(length)}" for encoding, length in variants)
        lines.append(f"  {key} {human_size(size)}" + (f" ({copies})" if copies else ""))
    return lines


def check_budget(name: str, budget: int, sizes: Iterable[tuple[str, int]], *, what: str = "files") -> None:
    """Raise MemoryBudgetError naming the largest entries when their total exceeds ``budget``.

    Example:
        >>> check_budget("static", 100, [("a.bin", 80), ("b.bin", 40)])
        Traceback (most recent call last):
        ...
        betrue.static.sizes.MemoryBudgetError: static: files need 120 B, over STATIC_MEMORY_BUDGET of 100 B; \
largest: a.bin 80 B, b.bin 40 B
    """
    entries = list(sizes)
    total = sum(size for _, size in entries)
    if total <= budget:
        return
    largest = sorted(entries, key=lambda entry: entry[1], reverse=True)[:5]
    names = ", ".join(f"{key} {human_size(size)}" for key, size in largest)
    raise MemoryBudgetError(
        f"{name}: {what} need {human_size(total)}, over STATIC_MEMORY_BUDGET of {human_size(budget)}; largest: {names}"
    )
