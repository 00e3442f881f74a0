"""Deadlines across processes: the ``x-timeout-ms`` header out, ``ctx.deadline`` in, enforced by a stage."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Mapping
from typing import TYPE_CHECKING, Any

from betrue.server.errors import GatewayTimeout
from betrue.server.response import Response
from betrue.server.types import CallNext

if TYPE_CHECKING:
    from betrue.server.context import Context

__all__ = ["TIMEOUT_HEADER", "deadline_from_meta", "enforce_deadline", "timeout_header"]

TIMEOUT_HEADER = "x-timeout-ms"
"""Milliseconds the caller still waits. Relative, like gRPC's ``grpc-timeout``: no clock skew between hosts."""


def timeout_header(deadline: float) -> str:
    """The header value for a ``time.time()`` deadline: whole milliseconds left, at least 0.

    Example:
        >>> 1000 < int(timeout_header(time.time() + 1.5)) <= 1500
        True
    """
    return str(max(0, math.floor((deadline - time.time()) * 1000)))


def deadline_from_meta(meta: Mapping[str, str]) -> float | None:
    """The ``time.time()`` deadline an incoming ``x-timeout-ms`` asks for; None when absent or unreadable.

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
        return None
    if not math.isfinite(milliseconds):
        return None
    return time.time() + max(0.0, milliseconds) / 1000


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
    remaining = deadline - time.time()
    if remaining <= 0:
        raise GatewayTimeout("deadline passed before the call started", details={"reason": "deadline"})
    timeout = asyncio.timeout(remaining)
    try:
        async with timeout:
            return await call_next(ctx, params)
    except TimeoutError:
        if timeout.expired():
            raise GatewayTimeout("deadline passed while the call ran", details={"reason": "deadline"}) from None
        raise
