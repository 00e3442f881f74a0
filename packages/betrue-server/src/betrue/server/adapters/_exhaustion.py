"""Resource exhaustion (out of file handles, sockets, memory) as one rate-limited JSON log line, never a flood.

When a process runs out of file handles every ``accept()`` and every ``open()`` fails; left alone, asyncio
writes a plain-text traceback for each to stderr, outside the JSON log, thousands a second. The handler
installed here writes one structured line per kind every ``interval`` seconds, with how many were folded
into it, and passes every other loop error to the JSON log as an error line.
"""

from __future__ import annotations

import asyncio
import errno
import time
from collections.abc import Callable
from typing import Any

from loguru import logger

__all__ = ["EXHAUSTION_ERRNOS", "RateLimitedLog", "install_loop_exception_handler", "is_exhaustion"]

EXHAUSTION_ERRNOS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})
"""Out of file handles (per process, system-wide), socket buffers, memory."""


def is_exhaustion(error: BaseException | None) -> bool:
    """Whether ``error`` says the process ran out of a resource (EMFILE and its kin)."""
    return isinstance(error, OSError) and error.errno in EXHAUSTION_ERRNOS


class RateLimitedLog:
    """At most one warning per key every ``interval`` seconds; the lines in between are counted, not written.

    Example:
        >>> log = RateLimitedLog(interval=10.0)
        >>> log.warning("emfile", "out of file handles")   # written
        True
        >>> log.warning("emfile", "out of file handles")   # counted in the next line's "suppressed"
        False
    """

    def __init__(self, interval: float = 10.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = interval
        self.clock = clock
        self._last: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}

    def warning(self, key: str, message: str, **fields: Any) -> bool:
        """Write ``message`` unless ``key`` was written less than ``interval`` ago; True when written."""
        now = self.clock()
        last = self._last.get(key)
        if last is not None and now - last < self.interval:
            self._suppressed[key] = self._suppressed.get(key, 0) + 1
            return False
        self._last[key] = now
        suppressed = self._suppressed.pop(key, 0)
        logger.bind(reason=key, suppressed=suppressed, **fields).warning(message)
        return True


_exhaustion_log = RateLimitedLog()


def _handle(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    error = context.get("exception")
    message = str(context.get("message") or "event loop error")
    if is_exhaustion(error):
        assert isinstance(error, OSError)
        name = errno.errorcode.get(error.errno or 0, "resource")
        _exhaustion_log.warning(
            name.lower(),
            f"out of resources ({name}): {message}; connections are refused until some close",
            errno=name,
        )
        return
    logger.opt(exception=error).error("event loop: {}", message)


def install_loop_exception_handler(loop: asyncio.AbstractEventLoop | None = None) -> None:
    """Route the loop's errors to the JSON log, exhaustion rate-limited (unless a handler is set already)."""
    loop = loop or asyncio.get_running_loop()
    if loop.get_exception_handler() is None:
        loop.set_exception_handler(_handle)
