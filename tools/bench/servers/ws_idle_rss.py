"""Resident memory of this process, after a collection: what ``bench/rss`` answers on both sides."""

from __future__ import annotations

import gc

__all__ = ["resident_bytes"]


def resident_bytes() -> int:
    gc.collect()
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")
