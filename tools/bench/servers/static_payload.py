"""The files every static benchmark server serves: ``file-10k.bin`` and ``file-1m.bin``, the same bytes for all.

Deterministic pseudo-random bytes (incompressible, so no server gains by compressing, and the load
generator asks for no encoding anyway), written once to a folder under the temporary directory.
"""

from __future__ import annotations

import os
import random
import tempfile
from pathlib import Path

__all__ = ["FILES", "ensure_root"]

FILES = {"file-10k.bin": 10 * 1024, "file-1m.bin": 1024 * 1024}
"""Name → size in bytes."""


def _content(name: str, size: int) -> bytes:
    return random.Random(f"betrue-bench-{name}").randbytes(size)


def ensure_root(root: str | os.PathLike[str] | None = None) -> Path:
    """The folder holding the benchmark files (created or refreshed when missing or different)."""
    folder = Path(root) if root is not None else Path(tempfile.gettempdir()) / "betrue-bench-static"
    folder.mkdir(parents=True, exist_ok=True)
    for name, size in FILES.items():
        path = folder / name
        content = _content(name, size)
        if path.is_file() and path.read_bytes() == content:
            continue
        partial = path.with_suffix(f".{os.getpid()}.part")
        partial.write_bytes(content)
        partial.replace(path)  # atomic: a server starting at the same time never reads half a file
    return folder


def expected(name: str) -> bytes:
    """The bytes a server must answer for ``/<name>``."""
    return _content(name, FILES[name])
