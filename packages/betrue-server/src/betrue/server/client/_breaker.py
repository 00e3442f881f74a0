"""The circuit breaker of each target: after N failures in a row calls fail fast (503) until a probe succeeds."""

from __future__ import annotations

import time
from collections.abc import Awaitable
from typing import Literal

from betrue.server.client._calls import Call, Envelope, Send, failed
from betrue.server.client._resilience import Policy
from betrue.server.errors import ServiceUnavailable

__all__ = ["CircuitBreaker", "CircuitBreakers"]


class CircuitBreaker:
    """One target's breaker: closed → open after N failures in a row → half-open probe → closed.

    Example:
        >>> breaker = CircuitBreaker()
        >>> breaker.state
        'closed'
    """

    def __init__(self) -> None:
        self.state: Literal["closed", "open", "half_open"] = "closed"
        self.failures = 0
        self.opened_at = 0.0
        self.probing = False

    def allow(self, policy: Policy) -> bool:
        if self.state == "closed":
            return True
        if self.state == "open" and time.monotonic() - self.opened_at >= policy.breaker_reset:
            self.state = "half_open"
        if self.state == "half_open" and not self.probing:
            self.probing = True
            return True
        return False

    def record(self, ok: bool, policy: Policy) -> None:
        self.probing = False
        if ok:
            self.state, self.failures = "closed", 0
            return
        self.failures += 1
        if self.state == "half_open" or self.failures >= policy.breaker_failures:
            self.state, self.opened_at = "open", time.monotonic()


class CircuitBreakers:
    """The breakers of every target a client calls; a client middleware."""

    def __init__(self) -> None:
        self.by_target: dict[str, CircuitBreaker] = {}

    def __call__(self, call: Call, send: Send) -> Awaitable[Envelope]:
        return send(call) if call.policy.breaker_failures <= 0 else self._guarded(call, send)

    async def _guarded(self, call: Call, send: Send) -> Envelope:
        policy = call.policy
        breaker = self.by_target.get(call.target)
        if breaker is None:
            breaker = self.by_target[call.target] = CircuitBreaker()
        if not breaker.allow(policy):
            message = f"{call.target} is failing; calls are held off for up to {policy.breaker_reset}s"
            return call.error(ServiceUnavailable(message, details=call.details("circuit_open")))
        try:
            envelope = await send(call)
        except BaseException:
            breaker.probing = False  # a cancelled probe must not leave the breaker stuck half-open
            raise
        breaker.record(not failed(envelope), policy)
        return envelope
