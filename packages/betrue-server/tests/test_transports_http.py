"""The HTTP transport against real servers: errors cross intact, failures map to 502/503/504, connections pool."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from aiohttp import web

from betrue.server import (
    Application,
    BadGateway,
    BetrueError,
    Conflict,
    Context,
    GatewayTimeout,
    Group,
    ServiceUnavailable,
    error_from_envelope,
)
from betrue.server.client.transports.http import HttpTransport
from betrue.server.errors import _REGISTRY
from betrue.server.testing import TestApp


class TransportTestSeatTaken(Conflict):
    status = "TransportTestSeatTaken"


CATALOGUE = sorted({cls for cls in _REGISTRY.values() if cls.__module__ == "betrue.server.errors"}, key=str)


def raising_app(events: dict[str, asyncio.Event]) -> Application:
    errors = Group("err")

    @errors.command("raise")
    async def raise_(params: dict[str, Any], ctx: Context) -> None:
        cls = TransportTestSeatTaken if params["status"] == "TransportTestSeatTaken" else _REGISTRY[params["status"]]
        raise cls(f"{params['status']} happened", details={"room": "r1", "n": [1, 2]})

    @errors.command("hang")
    async def hang(params: dict[str, Any], ctx: Context) -> None:
        events["started"].set()
        try:
            await asyncio.sleep(30)
        finally:
            events["stopped"].set()

    @errors.command("never")
    async def never(params: dict[str, Any], ctx: Context) -> None:
        events["ran"].set()

    return Application("errors", groups=[errors], env_file=None)


@asynccontextmanager
async def raw_server(handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> AsyncIterator[str]:
    """A plain aiohttp server answering every path with ``handler``: what a broken upstream looks like."""
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
def events() -> dict[str, asyncio.Event]:
    return {name: asyncio.Event() for name in ("started", "stopped", "ran")}


@pytest.mark.parametrize("status", [*(cls.status for cls in CATALOGUE), "TransportTestSeatTaken"])
async def test_each_error_class_crosses_http_intact(status: str, events: dict[str, asyncio.Event]) -> None:
    async with TestApp(raising_app(events), http=True) as upstream:
        transport = HttpTransport(upstream.url)
        try:
            envelope = await transport.call("err/raise", {"status": status}, {}, time.time() + 5)
        finally:
            await transport.close()
    error = error_from_envelope(dict(envelope))
    expected: type[BetrueError] = TransportTestSeatTaken if status == "TransportTestSeatTaken" else _REGISTRY[status]
    assert type(error) is expected
    if status != "InternalError":  # an InternalError never leaks its message, by design
        assert error.message == f"{status} happened"
        assert error.details == {"room": "r1", "n": [1, 2]}
    assert envelope["code"] == expected.code


async def test_a_deadline_becomes_504_and_the_upstream_stops_working(events: dict[str, asyncio.Event]) -> None:
    async with TestApp(raising_app(events), http=True) as upstream:
        caller = Application("caller", env_file=None, environ={"ROUTES": f"err={upstream.url}"})
        async with TestApp(caller):
            started = time.monotonic()
            with pytest.raises(GatewayTimeout) as raised:
                await caller.client.call("err/hang", {}, timeout=0.3)
            took = time.monotonic() - started
            async with asyncio.timeout(5):
                await events["stopped"].wait()  # the upstream enforced x-timeout-ms: no ghost work goes on
    assert 0.25 < took < 2
    assert raised.value.details["reason"] == "timeout"


async def test_a_call_arriving_after_its_deadline_never_runs(events: dict[str, asyncio.Event]) -> None:
    async with TestApp(raising_app(events), http=True) as upstream:
        reply = await upstream.post("err/never", {}, headers={"x-timeout-ms": "0"})
    assert reply.status == 504
    assert not events["ran"].is_set()


async def test_a_refused_connection_is_503() -> None:
    transport = HttpTransport(f"http://127.0.0.1:{closed_port()}")
    try:
        with pytest.raises(ServiceUnavailable) as raised:
            await transport.call("game/load", {}, {}, time.time() + 5)
    finally:
        await transport.close()
    assert raised.value.details["reason"] == "connect"


async def test_a_broken_connection_is_502() -> None:
    async def hang_up(request: web.Request) -> web.StreamResponse:
        assert request.transport is not None
        request.transport.close()
        return web.Response()

    async with raw_server(hang_up) as url:
        transport = HttpTransport(url)
        try:
            with pytest.raises(BadGateway) as raised:
                await transport.call("game/load", {}, {}, time.time() + 5)
        finally:
            await transport.close()
    assert raised.value.details["reason"] == "broken"


@pytest.mark.parametrize(
    ("body", "status"),
    [(b"<html>Not Found</html>", 404), (b'{"no": "envelope"}', 200), (b"[1, 2]", 200), (b"", 502)],
)
async def test_an_answer_that_is_not_an_envelope_is_502(body: bytes, status: int) -> None:
    async def other_server(request: web.Request) -> web.StreamResponse:
        return web.Response(body=body, status=status)

    async with raw_server(other_server) as url:
        transport = HttpTransport(url)
        try:
            with pytest.raises(BadGateway) as raised:
                await transport.call("game/load", {}, {}, None)
        finally:
            await transport.close()
    assert raised.value.details == {
        "reason": "not_envelope",
        "target": url,
        "command": "game/load",
        "httpStatus": status,
    }


async def test_an_answer_over_the_size_limit_is_502() -> None:
    async def chatty(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()  # chunked: no Content-Length to check up front
        await response.prepare(request)
        for _ in range(64):
            await response.write(b"x" * 1024)
        await response.write_eof()
        return response

    async with raw_server(chatty) as url:
        transport = HttpTransport(url, max_response=16 * 1024)
        try:
            with pytest.raises(BadGateway, match="exceeds 16384 bytes"):
                await transport.call("game/load", {}, {}, time.time() + 5)
        finally:
            await transport.close()


async def test_calls_share_kept_alive_connections_and_carry_the_deadline() -> None:
    peers: set[Any] = set()
    timeouts: list[int] = []

    async def envelope(request: web.Request) -> web.StreamResponse:
        assert request.transport is not None
        peers.add(request.transport.get_extra_info("peername"))
        timeouts.append(int(request.headers["x-timeout-ms"]))
        assert request.path == "/api/game/load"
        return web.json_response({"code": 200, "status": "Success", "result": await request.json(), "traceId": "t"})

    async with raw_server(envelope) as url:
        transport = HttpTransport(url)
        try:
            for n in range(20):
                answer = await transport.call("game/load", {"n": n}, {"x-trace-id": "t"}, time.time() + 2)
                assert answer["result"] == {"n": n}
        finally:
            await transport.close()
    assert len(peers) == 1
    assert all(1000 < timeout <= 2000 for timeout in timeouts)


async def test_codes_that_would_leave_the_api_path_are_refused() -> None:
    transport = HttpTransport("http://127.0.0.1:1")
    with pytest.raises(BetrueError, match="Unknown command"):
        await transport.call("game/../../admin", {}, {}, None)
    await transport.close()
