"""Deadlines across processes: the ``x-timeout-ms`` header out, ``ctx.deadline`` in, enforced with one timer.

A timer per call (``asyncio.timeout``) is costly in asyncio: every timer goes into the loop's heap,
whose entries compare in Python, and a cancelled one stays there until the heap is rebuilt. Calls end
long before their deadline almost always, so ``Deadlines`` keeps them in a dict and sets **one** timer
per event loop, at the earliest deadline it may have to enforce.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import time
import weakref
from collections.abc import Awaitable, Mapping
from typing import TYPE_CHECKING, Any

from betrue.server.errors import GatewayTimeout, ValidationError
from betrue.server.response import Response
from betrue.server.types import CallNext

if TYPE_CHECKING:
    from betrue.server.context import Context

__all__ = ["TIMEOUT_HEADER", "Deadlines", "deadline_from_meta", "enforce_deadline", "timeout_header"]

TIMEOUT_HEADER = "x-timeout-ms"
"""Milliseconds the caller still waits. Relative, like gRPC's ``grpc-timeout``: no clock skew between hosts."""


def timeout_header(deadline: float) -> str:
    """The header value for a ``time.time()`` deadline: whole milliseconds left, at least 1.

    A caller whose deadline has passed does not send the call (it answers 504 itself); a value of 0 or
    less is refused by the receiver as a malformed header (400).

    Example:
        >>> 1000 < int(timeout_header(time.time() + 1.5)) <= 1500
        True
    """
    return str(max(1, math.floor((deadline - time.time()) * 1000)))


def deadline_from_meta(meta: Mapping[str, str]) -> float | None:
    """The ``time.time()`` deadline an incoming ``x-timeout-ms`` asks for; None when absent.

    Raises ValidationError (400, ``details.reason == "bad_timeout"``) for a value that is not a positive
    number of milliseconds: a client asking for no time at all gets told so, rather than the server
    reporting a timeout of its own.

    Example:
        >>> deadline_from_meta({"x-timeout-ms": "250"}) - time.time() <= 0.25
        True
    """
    raw = meta.get(TIMEOUT_HEADER)
    if raw is None:
        return None
    try:
        milliseconds = float(raw)
    except ValueError:
        milliseconds = math.nan
    if not math.isfinite(milliseconds) or milliseconds <= 0:
        raise ValidationError(
            "x-timeout-ms must be a positive number of milliseconds",
            details={"reason": "bad_timeout", "header": TIMEOUT_HEADER},
        )
    return time.time() + milliseconds / 1000


class Deadlines:
    """Cancels the tasks whose deadline passed, with one timer per event loop for all of them.

    ``watch(deadline)`` covers the current task until ``unwatch(token)``; when the deadline passes the task
    is cancelled, and ``unwatch`` answers True: the CancelledError was ours (turn it into a 504).

    Example:
        >>> async def call_with(deadline):  # doctest: +SKIP
        ...     deadlines = Deadlines.current()
        ...     token = deadlines.watch(deadline)
        ...     try:
        ...         return await work()
        ...     except asyncio.CancelledError:
        ...         if deadlines.unwatch(token):
        ...             raise GatewayTimeout() from None
        ...         raise
        ...     finally:
        ...         deadlines.unwatch(token)
    """

    _current: tuple[asyncio.AbstractEventLoop, Deadlines] | None = None

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._calls: dict[int, tuple[float, asyncio.Task[Any]]] = {}
        self._fired: set[int] = set()
        self._tokens = itertools.count()
        self._timer: asyncio.TimerHandle | None = None
        self._wake_at = math.inf

    @classmethod
    def current(cls) -> Deadlines:
        """The instance of the running loop (one per loop; the last one used is found at once)."""
        loop = asyncio.get_running_loop()
        found = cls._current
        if found is None or found[0] is not loop:
            instance = _BY_LOOP.get(loop)
            if instance is None:
                instance = _BY_LOOP[loop] = cls(loop)
            cls._current = found = (loop, instance)
        return found[1]

    def watch(self, deadline: float) -> int:
        """Cancel the current task at ``deadline`` (a ``time.time()`` instant) unless unwatched before."""
        task = asyncio.current_task(self._loop)
        if task is None:
            raise RuntimeError("Deadlines.watch needs a running task")
        when = self._loop.time() + (deadline - time.time())
        token = next(self._tokens)
        self._calls[token] = (when, task)
        if when < self._wake_at:
            self._schedule(when)
        return token

    def unwatch(self, token: int) -> bool:
        """Stop watching; True when the deadline fired and this task's cancellation came from here."""
        if self._calls.pop(token, None) is not None:
            return False
        if token in self._fired:
            self._fired.discard(token)
            task = asyncio.current_task(self._loop)
            if task is not None:
                task.uncancel()
            return True
        return False

    def _schedule(self, when: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._wake_at = when
        self._timer = self._loop.call_at(when, self._sweep)

    def _sweep(self) -> None:
        self._timer, self._wake_at = None, math.inf
        now = self._loop.time()
        earliest = math.inf
        for token, (when, task) in list(self._calls.items()):
            if when <= now:
                del self._calls[token]
                self._fired.add(token)
                task.cancel()
            elif when < earliest:
                earliest = when
        if earliest < math.inf:
            self._schedule(earliest)


_BY_LOOP: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Deadlines] = weakref.WeakKeyDictionary()


def enforce_deadline(ctx: Context, params: Any, call_next: CallNext) -> Awaitable[Response]:
    """Answer 504 once ``ctx.deadline`` passes: nobody waits for the result any more.

    A call that arrives after its deadline never runs (no ghost executions); one that runs past it
    is cancelled. Without a deadline it hands back the next stage's awaitable and keeps no frame.
    """
    deadline = ctx.deadline
    if deadline is None:
        return call_next(ctx, params)
    return _within(ctx, params, call_next, deadline)


async def _within(ctx: Context, params: Any, call_next: CallNext, deadline: float) -> Response:
    if deadline <= time.time():
        raise GatewayTimeout("deadline passed before the call started", details={"reason": "deadline"})
    deadlines = Deadlines.current()
    token = deadlines.watch(deadline)
    expired = False
    try:
        return await call_next(ctx, params)
    except asyncio.CancelledError:
        expired = deadlines.unwatch(token)
        if not expired:
            raise
    finally:
        if not expired:
            deadlines.unwatch(token)
    raise GatewayTimeout("deadline passed while the call ran", details={"reason": "deadline"})
