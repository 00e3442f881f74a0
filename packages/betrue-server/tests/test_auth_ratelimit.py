"""Login rate limiting: token buckets per key, 429 with a retry time, refill over time, bounded memory."""

from __future__ import annotations

from typing import Any

import pytest

from betrue.server import Application, Context, Group, Identity, TooManyRequests
from betrue.server.auth import RateLimiter, client_address, rate_limit
from betrue.server.testing import TestApp


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_allows_its_burst_then_refills_at_its_rate() -> None:
    clock = Clock()
    limiter = RateLimiter(rate=0.5, burst=3, clock=clock)
    for _ in range(3):
        limiter.hit("user:ann")
    with pytest.raises(TooManyRequests) as caught:
        limiter.hit("user:ann")
    assert caught.value.details == {"reason": "rate_limited", "retryAfter": 2}
    limiter.hit("user:bob")  # other keys have their own bucket
    clock.now += 2
    limiter.hit("user:ann")
    with pytest.raises(TooManyRequests):
        limiter.hit("user:ann")


def test_an_attempt_takes_from_every_key_or_from_none() -> None:
    limiter = RateLimiter(rate=1, burst=1, clock=Clock())
    limiter.hit("ip:10.0.0.1")
    with pytest.raises(TooManyRequests):
        limiter.hit("user:ann", "ip:10.0.0.1")
    limiter.hit("user:ann")  # the refused attempt did not spend ann's token
    limiter.reset("ip:10.0.0.1")
    limiter.hit("ip:10.0.0.1")


def test_buckets_are_bounded() -> None:
    limiter = RateLimiter(rate=1, burst=1, max_keys=100, clock=Clock())
    for index in range(1000):
        limiter.hit(f"user:{index}")
    assert len(limiter._buckets) == 100


async def test_the_middleware_answers_429_before_the_handler() -> None:
    limiter = RateLimiter(rate=0.01, burst=2, clock=Clock())
    ran: list[str] = []
    user = Group("user")

    def keys(ctx: Context, params: Any) -> list[str]:
        address = client_address(ctx, trust_forwarded=True)
        return [f"user:{params.get('name')}", f"ip:{address}"]

    @user.command("login", middlewares=[rate_limit(limiter, keys)], auth="public")
    async def login(params: Any, ctx: Context) -> dict[str, Any]:
        ran.append(params["name"])
        return {}

    app = Application("limits", groups=[user], http=False, environ={}, env_file=None)
    async with TestApp(app) as client:
        meta = {"x-forwarded-for": "10.0.0.9, 172.16.0.1"}
        for _ in range(2):
            assert (await client.call("user/login", {"name": "ann"}, meta=meta))["code"] == 200
        refused = await client.call("user/login", {"name": "ann"}, meta=meta)
        assert (refused["code"], refused["status"]) == (429, "TooManyRequests")
        assert refused["error"]["details"]["retryAfter"] == 100
        other_ip = await client.call("user/login", {"name": "ann"}, meta={"x-forwarded-for": "10.0.0.10"})
        assert other_ip["code"] == 429  # the user's bucket is empty, whatever the address
    assert ran == ["ann", "ann"]


def test_the_client_address_is_the_connection_peer_or_a_trusted_proxy_header() -> None:
    class Peer:
        remote = "192.0.2.7"

    def context(meta: dict[str, str], connection: Any = None) -> Any:
        class Ctx:
            pass

        ctx = Ctx()
        ctx.meta, ctx.connection, ctx.identity = meta, connection, Identity("x")  # type: ignore[attr-defined]
        return ctx

    assert client_address(context({}, Peer())) == "192.0.2.7"
    assert client_address(context({"x-forwarded-for": "1.2.3.4"})) is None
    assert client_address(context({"x-forwarded-for": "1.2.3.4"}), trust_forwarded=True) == "1.2.3.4"
