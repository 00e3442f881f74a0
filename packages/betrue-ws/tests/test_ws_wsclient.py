"""The Python client: results, errors as their classes, timeouts, events, a connection that goes away."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest

from betrue.server import Application, GatewayTimeout, NotFound, ServiceUnavailable
from betrue.ws import CLOSE_GOING_AWAY, WsClient

MakeApp = Callable[..., Application]
Serving = Callable[[Application], AbstractAsyncContextManager[str]]


async def test_results_errors_and_events(make_app: MakeApp, serving: Serving) -> None:
    async with serving(make_app()) as url, WsClient(url) as client:
        assert await client.call("t/echo", {"a": [1, 2]}) == {"a": [1, 2]}
        with pytest.raises(NotFound):
            await client.call("t/missing")
        await client.call("t/emit", {"event": "first", "data": 1})
        await client.call("t/emit", {"event": "second", "data": 2})
        assert await client.next_event("second", timeout=5) == {"event": "second", "data": 2}  # skips "first"
        with pytest.raises(TimeoutError):
            await client.next_event(timeout=0.05)


async def test_a_call_without_an_answer_in_time_raises_gateway_timeout(
    make_app: MakeApp, serving: Serving, gate: Any
) -> None:
    async with serving(make_app()) as url, WsClient(url) as client:
        with pytest.raises(GatewayTimeout):
            await client.call("t/hold", timeout=0.1)
        gate.release.set()


async def test_calls_waiting_when_the_server_goes_away_fail_with_service_unavailable(
    make_app: MakeApp, gate: Any
) -> None:
    app = make_app(SHUTDOWN_TIMEOUT="0.2")
    await app.start()
    async with WsClient(app.service("http").url + "/ws") as client:
        waiting = asyncio.create_task(client.call("t/hold"))
        await asyncio.wait_for(gate.entered.wait(), 5)
        await app.stop()  # the grace period ends before the call does
        with pytest.raises(ServiceUnavailable):
            await waiting
        assert client.close_code == CLOSE_GOING_AWAY
    gate.release.set()


async def test_using_a_client_before_connecting_says_how_to() -> None:
    with pytest.raises(RuntimeError, match="async with"):
        await WsClient("http://127.0.0.1:9/ws").call("t/echo")
