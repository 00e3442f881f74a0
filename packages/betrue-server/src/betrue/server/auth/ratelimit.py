"""Rate limiting for logins and other guessable endpoints: token buckets per key, 429 when one is empty.

Each key (``user:ann``, ``ip:10.0.0.7``) has a bucket of ``burst`` tokens refilled at ``rate`` per
second; an attempt takes one token from every key it names, and fails with 429 ``TooManyRequests``
(``details.retryAfter`` in seconds) when any of them is empty. Buckets live in memory, per process,
at most ``max_keys`` of them (the least recently used go first).
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

from betrue.server.context import Context
from betrue.server.errors import TooManyRequests
from betrue.server.response import Response
from betrue.server.types import CallNext, Middleware

__all__ = ["RateLimiter", "client_address", "rate_limit"]


class RateLimiter:
    """Token buckets by key.

    Example:
        >>> limiter = RateLimiter(rate=1 / 60, burst=5)   # 5 tries, then one a minute
        >>> for _ in range(5):
        ...     limiter.hit("user:ann", "ip:10.0.0.7")
        >>> limiter.hit("user:ann")  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        betrue.server.errors.TooManyRequests: Too many attempts
    """

    def __init__(
        self, rate: float, burst: int, *, max_keys: int = 100_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if rate <= 0 or burst < 1 or max_keys < 1:
            raise ValueError("RateLimiter: rate > 0, burst >= 1 and max_keys >= 1")
        self.rate = rate
        self.burst = float(burst)
        self.max_keys = max_keys
        self.clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key -> (tokens, at)

    def _tokens(self, key: str, now: float) -> float:
        tokens, at = self._buckets.get(key, (self.burst, now))
        return min(self.burst, tokens + (now - at) * self.rate)

    def retry_after(self, *keys: str, cost: float = 1.0) -> float:
        """Seconds until an attempt on ``keys`` would be allowed (0: now)."""
        now = self.clock()
        short = max((cost - self._tokens(key, now) for key in keys), default=0.0)
        return max(short, 0.0) / self.rate

    def hit(self, *keys: str, cost: float = 1.0) -> None:
        """Take ``cost`` tokens from every key, or none and raise 429 when any bucket is short."""
        wait = self.retry_after(*keys, cost=cost)
        if wait > 0:
            raise TooManyRequests(
                "Too many attempts", details={"reason": "rate_limited", "retryAfter": math.ceil(wait)}
            )
        now = self.clock()
        for key in keys:
            self._buckets[key] = (self._tokens(key, now) - cost, now)
            self._buckets.move_to_end(key)
        while len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)

    def reset(self, *keys: str) -> None:
        """Refill the buckets of ``keys`` (after a successful login, say)."""
        for key in keys:
            self._buckets.pop(key, None)


def client_address(ctx: Context, *, trust_forwarded: bool = False) -> str | None:
    """The caller's network address: the TCP peer (HTTP or WebSocket), or ``X-Forwarded-For`` when asked.

    Behind a reverse proxy every peer is the proxy: set ``trust_forwarded=True`` to read the first
    ``X-Forwarded-For`` address instead (the header is the client's to forge otherwise).
    """
    if trust_forwarded:
        forwarded = ctx.meta.get("x-forwarded-for", "")
        first = forwarded.split(",", 1)[0].strip()
        if first:
            return first
    peer = getattr(ctx, "remote", None)  # what the adapter saw; contexts built by hand may lack it
    if isinstance(peer, str) and peer:
        return peer
    remote = getattr(ctx.connection, "remote", None)
    if isinstance(remote, str) and remote:
        return remote
    return None


def rate_limit(limiter: RateLimiter, keys: Callable[[Context, Any], Sequence[str]]) -> Middleware:
    """A middleware that spends one token of each key ``keys(ctx, params)`` names before the handler runs.

    Example:
        >>> login_limit = RateLimiter(rate=0.2, burst=5)
        >>> mw = rate_limit(login_limit, lambda ctx, p: [f"user:{p.get('name')}"])
        >>> # @user.command("login", middlewares=[mw], auth="public")
    """

    async def limited(ctx: Context, params: Any, call_next: CallNext) -> Response:
        try:
            limiter.hit(*keys(ctx, params))
        except TooManyRequests as error:
            return Response.from_error(error)
        return await call_next(ctx, params)

    return limited
