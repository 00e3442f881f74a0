"""Fault tolerance on the client's call path: timeout, retry with backoff, circuit breaker, bulkhead.

They live on the caller's side (``betrue.server.client._calls``), where the target's health is seen: every
outgoing call, local or remote, passes them, and a gateway's proxied commands are client calls too.
Each command group has a ``Policy`` (``CLIENT_*`` defaults, ``CLIENT_POLICIES`` per group, or
``client.policy(group, ...)`` in code).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, fields
from typing import Any, Literal

from betrue.server.client._calls import Call, Envelope, Send, failed
from betrue.server.deadlines import Deadlines
from betrue.server.errors import GatewayTimeout, TooManyRequests

__all__ = ["Bulkheads", "Policy", "Retry", "Timeout", "parse_policies"]


@dataclass(frozen=True, slots=True)
class Policy:
    """How calls to one command group are protected.

    Example:
        >>> Policy(timeout=2.0, retries=3, bulkhead=10).retries
        3
    """

    timeout: float | None = 10.0
    """Seconds a call may take, retries included; the caller's own deadline still wins when earlier."""
    retries: int = 2
    """Extra attempts after a 502/503/504, for idempotent commands only."""
    backoff: float = 0.05
    """Upper bound of the first retry's random delay (full jitter); doubles each retry."""
    backoff_max: float = 1.0
    idempotent: bool | None = None
    """Treat every command of the group as idempotent (True) or not (False); None: ask the command."""
    breaker_failures: int = 5
    """Failures (502/503/504) in a row that open the target's breaker; 0 turns the breaker off."""
    breaker_reset: float = 5.0
    """Seconds a breaker stays open before one probe call may test the target."""
    bulkhead: int = 0
    """Calls at once per target (or per command); 0 means no limit."""
    bulkhead_queue: int = 0
    """Calls that may wait for a free slot; past limit + queue a call is answered 429 at once."""
    bulkhead_scope: Literal["target", "command"] = "target"


_NAMES = {f.name for f in fields(Policy)}


def parse_policies(text: str) -> dict[str, dict[str, Any]]:
    """Per-group changes from ``group.option=value`` pairs (``CLIENT_POLICIES``), checked and converted.

    Example:
        >>> parse_policies("game.retries=0, game.timeout=2.5, chat.bulkhead=10")
        {'game': {'retries': 0, 'timeout': 2.5}, 'chat': {'bulkhead': 10}}
    """
    changes: dict[str, dict[str, Any]] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, sep, value = item.partition("=")
        group, dot, option = key.strip().rpartition(".")
        if not sep or not dot or not group or option not in _NAMES:
            raise ValueError(f"{item!r}: expected group.option=value with option one of {sorted(_NAMES)}")
        changes.setdefault(group, {})[option] = _convert(option, value.strip())
    return changes


def _convert(option: str, value: str) -> Any:
    if option in {"idempotent"}:
        if value.lower() not in {"true", "false", "none", ""}:
            raise ValueError(f"idempotent={value!r}: expected true, false or none")
        return None if value.lower() in {"none", ""} else value.lower() == "true"
    if option == "bulkhead_scope":
        if value not in {"target", "command"}:
            raise ValueError(f"bulkhead_scope={value!r}: expected target or command")
        return value
    if option == "timeout" and value.lower() in {"none", "0", ""}:
        return None
    number = float(value) if option in {"timeout", "backoff", "backoff_max", "breaker_reset"} else int(value)
    if number < 0:
        raise ValueError(f"{option}={value!r} must not be negative")
    return number


class Timeout:
    """End the whole call at ``call.deadline`` with a 504, whatever stage it is waiting in; a middleware.

    A transport that ``enforces_deadline`` already ends its own attempt in time and retries never sleep past
    the deadline, so the whole call is watched (``betrue.server.deadlines.Deadlines``) only where something
    else may wait: a bulkhead queue, a transport that does not enforce it, or client middlewares of yours
    (``guard_all=True``).
    """

    def __init__(self, *, guard_all: bool = False) -> None:
        self.guard_all = guard_all

    def __call__(self, call: Call, send: Send) -> Awaitable[Envelope]:
        if call.deadline is None:
            return send(call)
        remaining = call.deadline - time.time()
        if remaining <= 0:
            message = "deadline passed before the call was sent"
            return _answer(call.error(GatewayTimeout(message, details=call.details("timeout"))))
        policy = call.policy
        may_wait = self.guard_all or (policy.bulkhead > 0 and policy.bulkhead_queue > 0)
        if not may_wait and call.transport.enforces_deadline:
            return send(call)
        return _bounded(call, send, call.deadline)


async def _bounded(call: Call, send: Send, deadline: float) -> Envelope:
    deadlines = Deadlines.current()
    token = deadlines.watch(deadline)
    expired = False
    try:
        return await send(call)
    except asyncio.CancelledError:
        expired = deadlines.unwatch(token)
        if not expired:
            raise
    finally:
        if not expired:
            deadlines.unwatch(token)
    return call.error(GatewayTimeout(f"{call.code} did not answer in time", details=call.details("timeout")))


class Retry:
    """Try idempotent commands again after 502/503/504, with exponential backoff and full jitter; a middleware.

    ``learn(call)`` answers whether a command the caller knows nothing about is idempotent (the client
    asks the target's ``_app/commands``); it runs only after a failure, never on the way of a success.
    """

    def __init__(self, learn: Callable[[Call], Awaitable[bool]] | None = None) -> None:
        self.learn = learn

    def __call__(self, call: Call, send: Send) -> Awaitable[Envelope]:
        return send(call) if call.policy.retries <= 0 or call.idempotent is False else self._retrying(call, send)

    async def _retrying(self, call: Call, send: Send) -> Envelope:
        envelope = await send(call)
        policy = call.policy
        if not self._retryable(envelope):
            return envelope
        if call.idempotent is None:
            call.idempotent = await self.learn(call) if self.learn is not None else False
        if not call.idempotent:
            return envelope
        for attempt in range(policy.retries):
            delay = random.uniform(0, min(policy.backoff_max, policy.backoff * 2**attempt))
            if call.deadline is not None and time.time() + delay >= call.deadline:
                return envelope
            await asyncio.sleep(delay)
            envelope = await send(call)
            if not self._retryable(envelope):
                return envelope
        return envelope

    @staticmethod
    def _retryable(envelope: Envelope) -> bool:
        # An open breaker or a spent deadline will not be different a moment later.
        return failed(envelope) and _reason(envelope) not in {"circuit_open", "timeout"}


class Bulkheads:
    """At most ``policy.bulkhead`` calls at once per target (or command), ``bulkhead_queue`` waiting; a middleware."""

    def __init__(self) -> None:
        self.slots: dict[str, asyncio.Semaphore] = {}
        self.waiting: dict[str, int] = {}

    def __call__(self, call: Call, send: Send) -> Awaitable[Envelope]:
        return send(call) if call.policy.bulkhead <= 0 else self._limited(call, send)

    async def _limited(self, call: Call, send: Send) -> Envelope:
        policy = call.policy
        key = call.target if policy.bulkhead_scope == "target" else f"{call.target} {call.code}"
        slots = self.slots.get(key)
        if slots is None:
            slots = self.slots[key] = asyncio.Semaphore(policy.bulkhead)
        if slots.locked():
            if self.waiting.get(key, 0) >= policy.bulkhead_queue:
                details = {**call.details("bulkhead_full"), "limit": policy.bulkhead}
                return call.error(TooManyRequests(f"too many calls to {call.target} at once", details=details))
            self.waiting[key] = self.waiting.get(key, 0) + 1
            try:
                await slots.acquire()
            finally:
                self.waiting[key] -= 1
        else:
            await slots.acquire()
        try:
            return await send(call)
        finally:
            slots.release()


async def _answer(envelope: Envelope) -> Envelope:
    return envelope


def _reason(envelope: Envelope) -> Any:
    error = envelope.get("error")
    details = error.get("details") if isinstance(error, dict) else None
    return details.get("reason") if isinstance(details, dict) else None
