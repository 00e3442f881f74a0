"""Resident memory of this process, after a collection: what ``bench/rss`` answers on both sides."""

from __future__ import annotations

import ctypes
import gc

__all__ = ["resident_bytes"]


def resident_bytes() -> int:
    """VmRSS after a collection and ``malloc_trim``: freed memory goes back to the system, so a reading taken
    after earlier clients left starts from the process's live size, not from its high-water mark."""
    gc.collect()
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")
