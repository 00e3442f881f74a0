"""A transport registered by scheme (as betrue-nats registers ``nats``) gets the client's fault tolerance."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, ClassVar

from betrue.server import Application, Context, Group, ServiceUnavailable, Transport
from betrue.server.testing import TestApp
from betrue.server.types import Envelope


class Flaky(Transport):
    """Fails the first ``failures`` calls with 503, then answers; or hangs when asked to."""

    failures: ClassVar[int] = 0
    hang: ClassVar[bool] = False
    calls: ClassVar[list[str]] = []

    def __init__(self, target: str) -> None:
        self.target = target

    async def call(self, code: str, params: Any, meta: Mapping[str, str], deadline: float | None) -> Envelope:
        Flaky.calls.append(code)
        if Flaky.hang:
            await asyncio.sleep(30)
        if Flaky.failures > 0:
            Flaky.failures -= 1
            raise ServiceUnavailable("peer down", details={"reason": "unreachable"})
        return {"code": 200, "status": "Success", "result": {"code": code}}


def _app(**policy: Any) -> Application:
    lobby = Group("lobby")

    @lobby.command("ask")
    async def ask(params: Any, ctx: Context) -> Any:
        return await ctx.client.call_envelope(params["code"], idempotent=params.get("idempotent"))

    app = Application("flaky", groups=[lobby], http=False, env_file=None)
    app.client.register_transport("flaky", Flaky)
    app.client.policy("far", **policy)
    Flaky.failures, Flaky.hang, Flaky.calls = 0, False, []
    return app


async def test_an_idempotent_call_is_retried_through_a_custom_transport() -> None:
    app = _app(retries=2, backoff=0.001)
    Flaky.failures = 2
    async with TestApp(app, env={"ROUTES": "far=flaky://peer"}) as running:
        envelope = await running.result("lobby/ask", {"code": "far/read", "idempotent": True})
    assert envelope["status"] == "Success"
    assert Flaky.calls == ["far/read"] * 3


async def test_a_call_not_known_to_be_idempotent_is_not_repeated() -> None:
    app = _app(retries=2, backoff=0.001)
    Flaky.failures = 1
    async with TestApp(app, env={"ROUTES": "far=flaky://peer"}) as running:
        envelope = await running.result("lobby/ask", {"code": "far/write", "idempotent": False})
    assert envelope["status"] == "ServiceUnavailable"
    assert Flaky.calls == ["far/write"]


async def test_the_breaker_opens_on_a_custom_transport_and_fails_fast() -> None:
    app = _app(retries=0, breaker_failures=2, breaker_reset=60)
    Flaky.failures = 100
    async with TestApp(app, env={"ROUTES": "far=flaky://peer"}) as running:
        statuses = [
            (await running.result("lobby/ask", {"code": "far/read"}))["error"]["details"].get("reason")
            for _ in range(4)
        ]
    assert statuses[:2] == ["unreachable", "unreachable"]
    assert statuses[2:] == ["circuit_open", "circuit_open"]
    assert len(Flaky.calls) == 2  # the open breaker spared the peer


async def test_the_policy_timeout_ends_a_hanging_custom_transport() -> None:
    app = _app(timeout=0.05, retries=0)
    Flaky.hang = True
    async with TestApp(app, env={"ROUTES": "far=flaky://peer"}) as running:
        envelope = await running.result("lobby/ask", {"code": "far/read"})
    assert envelope["code"] == 504
