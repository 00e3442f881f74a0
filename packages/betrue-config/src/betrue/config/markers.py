"""Rewrite the block between two marker lines of a file, such as `[envs]: start` and `[envs]: end`."""

from __future__ import annotations

import os
from pathlib import Path


class MarkerError(ValueError):
    """A marker is missing from the file, or the end marker comes before the start marker."""


def replace_between_markers(path: str | os.PathLike[str], start: str, end: str, text: str) -> bool:
    """Put `text` between the lines holding `start` and `end` in `path`; return whether the file changed.

    The markers stay; the text sits between them with a blank line on each side, so running it
    twice with the same text leaves the file as it is (and untouched on disk). `[envs]: start`
    is a markdown link definition, invisible once rendered.

    Raises:
        MarkerError: a marker is missing, or `end` is not after `start`.

    Example:
        >>> import pathlib, tempfile
        >>> page = pathlib.Path(tempfile.mkdtemp()) / "env.md"
        >>> _ = page.write_text("# Env\\n[envs]: start\\nold\\n[envs]: end\\n")
        >>> replace_between_markers(page, "[envs]: start", "[envs]: end", "new")
        True
        >>> print(page.read_text(), end="")
        # Env
        [envs]: start
        <BLANKLINE>
        new
        <BLANKLINE>
        [envs]: end
        >>> replace_between_markers(page, "[envs]: start", "[envs]: end", "new")
        False
    """
    file = Path(path)
    content = file.read_text(encoding="utf-8")
    begin = content.find(start)
    if begin < 0:
        raise MarkerError(f"start marker {start!r} not found in {file}")
    after_start = content.find("\n", begin + len(start))
    after_start = len(content) if after_start < 0 else after_start + 1
    finish = content.find(end, after_start)
    if finish < 0:
        where = " after the start marker" if end in content else ""
        raise MarkerError(f"end marker {end!r} not found{where} in {file}")
    head = content[:after_start] if content[:after_start].endswith("\n") else content[:after_start] + "\n"
    body = text.strip("\n")
    middle = f"\n{body}\n\n" if body else "\n"
    updated = head + middle + content[content.rfind("\n", 0, finish) + 1 :]
    if updated == content:
        return False
    file.write_text(updated, encoding="utf-8")
    return True
