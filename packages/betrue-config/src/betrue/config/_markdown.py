"""Markdown tables padded to align, so they read as well in a terminal as in a rendered page."""

from __future__ import annotations

from collections.abc import Sequence


def cell(text: str) -> str:
    """`text` made safe for one table cell: one line, `|` escaped."""
    return " ".join(text.split("\n")).replace("|", "\\|")


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A markdown table with every column padded to its widest cell.

    >>> print(table(["env", "type"], [["HTTP_PORT", "integer"]]))
    | env       | type    |
    |-----------|---------|
    | HTTP_PORT | integer |
    """
    lines = [[cell(h) for h in headers], *([cell(c) for c in row] for row in rows)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(headers))]

    def render(line: Sequence[str]) -> str:
        return "| " + " | ".join(text.ljust(width) for text, width in zip(line, widths, strict=True)) + " |"

    separator = "|" + "|".join("-" * (width + 2) for width in widths) + "|"
    return "\n".join([render(lines[0]), separator, *(render(line) for line in lines[1:])])
