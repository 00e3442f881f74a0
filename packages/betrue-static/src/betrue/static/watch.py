"""Development reload: watch a root folder with watchfiles and call back after each batch of changes."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from typing import Any

from loguru import logger

__all__ = ["require_watchfiles", "watch_folder"]

DEBOUNCE_MS = 100
"""Changes closer together than this are one batch (an editor's save is often several writes)."""


def require_watchfiles() -> Any:
    """The watchfiles module, or a clear error saying how to install it."""
    try:
        import watchfiles
    except ImportError as error:  # pragma: no cover - watchfiles is installed in development
        raise RuntimeError("STATIC_WATCH=true needs watchfiles: pip install 'betrue-static[watch]'") from error
    return watchfiles


async def watch_folder(
    root: str | os.PathLike[str], on_change: Callable[[set[str]], Awaitable[None]], stop: asyncio.Event
) -> None:
    """Call ``on_change(paths)`` after each batch of changes under ``root`` until ``stop`` is set.

    A failing callback is logged and watching goes on; a failing watcher (the folder vanished) is
    logged and ends the watch: the files already loaded stay served.
    """
    watchfiles = require_watchfiles()
    try:
        async for changes in watchfiles.awatch(root, stop_event=stop, debounce=DEBOUNCE_MS, step=20):
            paths = {path for _, path in changes}
            try:
                await on_change(paths)
            except Exception:
                logger.opt(exception=True).error("static: reload after changes in {} failed", root)
    except Exception:
        logger.opt(exception=True).error("static: watching {} stopped", root)
