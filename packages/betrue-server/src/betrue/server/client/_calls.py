"""The client's call path: one outgoing call as a ``Call``, passed through client middlewares to a transport.

The order, outermost first (built once per client, see ``Client.start``):

1. ``trace_client``    a CLIENT span; injects ``traceparent`` into the call's meta
2. ``measure_client``  metrics per target and command: calls, errors by status, duration, in flight, retries
3. ``timeout``         the whole call, retries included, ends at ``call.deadline`` (504; ``Timeout``)
4. ``bulkhead``        at most N calls at once per target (or per command); past it 429
5. ``retry``           idempotent commands only: 502/503/504 are tried again with backoff (``Retry``)
6. ``breaker``         per target: after N failures in a row calls fail fast with 503 until a probe succeeds
7. the transport       its failures become error envelopes here, so every stage sees envelopes only
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias

from betrue.server.client.transports.base import Transport
from betrue.server.errors import BetrueError
from betrue.server.response import error_envelope
from betrue.server.types import Envelope

if TYPE_CHECKING:
    from betrue.server.client._resilience import Policy
    from betrue.server.context import Context

__all__ = ["Call", "ClientMiddleware", "Envelope", "Send", "compose_client", "failed", "send_with_transport"]

UNHEALTHY = frozenset({502, 503, 504})
"""Codes that say the target (not the request) is in trouble: retried, and counted by breakers."""


@dataclass(slots=True)
class Call:
    """One outgoing call as the client middlewares see it; ``meta`` is what travels with it.

    Example:
        >>> async def stamp(call, send):  # a client middleware
        ...     call.meta["x-tenant"] = "t1"
        ...     return await send(call)
    """

    code: str
    params: Any
    meta: dict[str, str]
    deadline: float | None
    transport: Transport
    policy: Policy
    idempotent: bool | None = None
    """None: not known here; after a failure the retry stage asks the target's ``_app/commands``."""
    ctx: Context | None = None
    attempts: int = 0
    state: dict[str, Any] | None = None
    """Free for client middlewares to share values along one call (None until one sets a dict)."""

    @property
    def group(self) -> str:
        return self.code.split("/", 1)[0]

    @property
    def target(self) -> str:
        return self.transport.target

    @property
    def trace_id(self) -> str | None:
        return self.meta.get("x-trace-id")

    def details(self, reason: str) -> dict[str, str]:
        """The ``details`` of an error raised on the caller's side: why, which target, which command."""
        return {"reason": reason, "target": self.transport.target, "command": self.code}

    def error(self, error: BetrueError) -> Envelope:
        """The envelope of an error raised on the caller's side (breaker open, bulkhead full, timeout)."""
        return error_envelope(error, self.trace_id)


Send: TypeAlias = Callable[[Call], Awaitable[Envelope]]
ClientMiddleware: TypeAlias = Callable[[Call, Send], Awaitable[Envelope]]
"""``async def mw(call, send) -> envelope``: one stage of the client's call path."""


def failed(envelope: Envelope) -> bool:
    """True when the envelope says the target is unhealthy (502, 503 or 504)."""
    return envelope.get("code") in UNHEALTHY


async def send_with_transport(call: Call) -> Envelope:
    """The innermost stage: the transport's own failures (503, 502, 504) become error envelopes."""
    call.attempts += 1
    try:
        return await call.transport.call(call.code, call.params, call.meta, call.deadline)
    except BetrueError as error:
        return call.error(error)


def compose_client(middlewares: Sequence[ClientMiddleware], innermost: Send = send_with_transport) -> Send:
    """Fold client middlewares (outermost first) around ``innermost``, once."""
    send = innermost
    for middleware in reversed(middlewares):
        send = _bind(middleware, send)
    return send


def _bind(middleware: ClientMiddleware, send: Send) -> Send:
    # A plain function returning the middleware's awaitable: no frame of its own in the await chain.
    def stage(call: Call) -> Awaitable[Envelope]:
        return middleware(call, send)

    return stage
