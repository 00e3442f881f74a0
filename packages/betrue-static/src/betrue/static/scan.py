"""Reading a root folder into memory, refusing anything that resolves outside it.

Symlinks are followed only while their target stays under the root's real path; a link that
points out is skipped and logged, and its target is never opened. Only regular files are read
(a FIFO would block the start). This runs once at start (and on reload), in a worker thread.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from loguru import logger

from betrue.server.ext import StartError
from betrue.static.sizes import check_budget

__all__ = ["SourceFile", "StaticRootError", "scan_root"]


@dataclass(frozen=True, slots=True)
class SourceFile:
    """One file read from the root: its ``/``-separated path relative to the root, bytes and mtime."""

    relative: str
    data: bytes
    mtime: float


class StaticRootError(StartError, FileNotFoundError):
    """``STATIC_ROOT`` is not a folder: the start stops with this one line."""


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root + os.sep)


def _skipped(name: str, dotfiles: bool) -> bool:
    return not dotfiles and name.startswith(".")


def scan_root(
    root: str | os.PathLike[str], *, dotfiles: bool = False, budget: int | None = None, name: str = "static"
) -> list[SourceFile]:
    """Every regular file under ``root``, read into memory, sorted by relative path.

    Raises FileNotFoundError when the root is missing, and ``MemoryBudgetError`` (before reading
    anything) when the files together are larger than ``budget``.

    Example:
        >>> import tempfile, pathlib
        >>> folder = pathlib.Path(tempfile.mkdtemp()); _ = (folder / "a.txt").write_text("hi")
        >>> [(f.relative, f.data) for f in scan_root(folder)]
        [('a.txt', b'hi')]
    """
    real_root = os.path.realpath(root)
    if not os.path.isdir(real_root):
        raise StaticRootError(f"static root {os.fspath(root)!r} is not a folder")
    found: list[tuple[str, str, os.stat_result]] = []
    seen_dirs: set[str] = set()
    for dirpath, dirnames, filenames in os.walk(real_root, followlinks=True):
        real_dir = os.path.realpath(dirpath)
        if not _inside(real_dir, real_root) or real_dir in seen_dirs:
            dirnames[:] = []  # a link out of the root, or a loop: never descend
            if not _inside(real_dir, real_root):
                logger.warning("static: skipping {} (links outside the root)", dirpath)
            continue
        seen_dirs.add(real_dir)
        dirnames[:] = sorted(name for name in dirnames if not _skipped(name, dotfiles))
        for filename in sorted(filenames):
            if _skipped(filename, dotfiles):
                continue
            path = os.path.join(dirpath, filename)
            real = os.path.realpath(path)
            if not _inside(real, real_root):
                logger.warning("static: skipping {} (links outside the root)", path)
                continue
            try:
                info = os.stat(real)
            except OSError:  # a dangling link
                continue
            if not stat.S_ISREG(info.st_mode):
                continue
            relative = Path(os.path.relpath(path, real_root)).as_posix()
            found.append((relative, real, info))
    if budget is not None:
        check_budget(name, budget, [(rel, info.st_size) for rel, _, info in found])
    files = []
    for relative, real, info in sorted(found):
        # O_NOFOLLOW: the resolved path must not have been swapped for a link since it was checked
        with open(os.open(real, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)), "rb") as handle:
            files.append(SourceFile(relative, handle.read(), info.st_mtime))
    return files
