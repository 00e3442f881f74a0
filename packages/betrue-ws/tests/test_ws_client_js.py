"""The browser client, betrue-ws.js, in headless Chromium: calls, errors, pushes, reconnection."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiohttp import web

from betrue.server import Application, Service
from betrue.ws import CLIENT_DIR, WsAdapter

pytestmark = pytest.mark.browser

PAGE = """<!doctype html><meta charset="utf-8"><title>betrue-ws.js</title>
<script type="module">
  import { BetrueWs, BetrueWsError } from "/client/betrue-ws.js";
  window.BetrueWsError = BetrueWsError;
  window.BetrueWs = BetrueWs;
  window.opens = 0;
  window.closes = [];
  window.pushes = [];
  window.ws = new BetrueWs("/ws", { minDelay: 50, maxDelay: 200, timeout: 5000 });
  ws.onOpen(() => window.opens++);
  ws.onClose((info) => window.closes.push(info));
  ws.on("*", (data, name) => window.pushes.push([name, data]));
</script>"""


class TestPage(Service):
    """Serves the test page and the client next to the WebSocket endpoint."""

    __test__ = False
    name = "page"
    deps = ("http",)

    async def start(self) -> None:
        router = self.services["http"].web.router
        router.add_get("/", self.page)
        router.add_get("/client/betrue-ws.js", self.client)

    async def page(self, request: web.Request) -> web.StreamResponse:
        return web.Response(text=PAGE, content_type="text/html")

    async def client(self, request: web.Request) -> web.StreamResponse:
        return web.FileResponse(CLIENT_DIR / "betrue-ws.js")


@pytest.fixture
async def page(browser: Any, make_app: Callable[..., Application]) -> AsyncIterator[tuple[Any, Application]]:
    app = make_app()
    app.add_service(TestPage)
    await app.start()
    try:
        tab = await browser.new_page(bypass_csp=True)  # the test drives the page with string predicates (eval)
        await tab.goto(app.service("http").url + "/")
        await tab.wait_for_function("window.opens === 1")
        yield tab, app
    finally:
        await app.stop()


async def test_calls_resolve_or_reject_with_the_envelope_and_pushes_reach_listeners(
    page: tuple[Any, Application],
) -> None:
    tab, app = page
    assert await tab.evaluate("ws.call('t/echo', {a: 1})") == {"a": 1}
    error = await tab.evaluate(
        """ws.call('t/echo', [1]).catch((e) => ({isError: e instanceof BetrueWsError, code: e.code,
            status: e.status, message: e.message, traceId: e.traceId}))"""
    )
    assert error["isError"] is True
    assert (error["code"], error["status"]) == (400, "ValidationError")
    assert len(error["traceId"]) == 32
    # Answers come back out of order (later calls sleep less) and each promise gets its own.
    results = await tab.evaluate(
        "Promise.all([...Array(20).keys()].map((n) => ws.call('t/sleep', {n, seconds: (20 - n) * 0.005})))"
    )
    assert results == [{"n": n} for n in range(20)]
    await app.emit("news.flash", {"text": "hello"})
    await tab.wait_for_function("window.pushes.length === 1")
    assert await tab.evaluate("window.pushes") == [["news.flash", {"text": "hello"}]]


async def test_the_client_reconnects_a_call_made_meanwhile_goes_through_and_close_is_final(
    page: tuple[Any, Application],
) -> None:
    tab, app = page
    ws: WsAdapter = app.service("ws")
    [connection] = list(ws.connections)
    await connection.close(4000, "kicked")
    await tab.wait_for_function("window.closes.length === 1")
    pending = await tab.evaluate_handle("ws.call('t/echo', {during: 'reconnect'})")  # made while disconnected
    await tab.wait_for_function("window.opens === 2")
    assert await tab.evaluate("(p) => p", pending) == {"during": "reconnect"}
    closed = {
        "code": 4000,
        "reason": "kicked",
        "reconnecting": True,
        "next": app.service("http").url.replace("http", "ws") + "/ws",
    }
    assert await tab.evaluate("window.closes[0]") == closed
    assert await tab.evaluate("ws.state") == "open"
    await tab.evaluate("ws.close()")  # for good: no reconnection, later calls fail at once
    failure = await tab.evaluate("ws.call('t/echo', {}).catch((e) => [e.status, e.details.reason])")
    assert failure == ["ServiceUnavailable", "closed"]
    assert await tab.evaluate("ws.state") == "closed"


async def test_given_several_urls_the_client_moves_to_the_next_when_one_fails_or_drops(
    page: tuple[Any, Application],
) -> None:
    tab, app = page
    here = app.service("http").url.replace("http", "ws") + "/ws"
    with socket.socket() as probe:  # a port nobody listens on: a server that is down
        probe.bind(("127.0.0.1", 0))
        down = f"ws://127.0.0.1:{probe.getsockname()[1]}/ws"
    await tab.evaluate(
        """([down, here]) => {
            ws.close();
            window.opened = [];
            window.ws = new BetrueWs([down, here], { minDelay: 20, maxDelay: 100, timeout: 5000 });
            ws.onOpen(() => window.opened.push(ws.url));
        }""",
        [down, here],
    )
    await tab.wait_for_function("window.opened.length === 1")
    assert await tab.evaluate("[ws.urls, ws.url]") == [[down, here], here]  # the first was down: the next one
    assert await tab.evaluate("ws.call('t/echo', {n: 1})") == {"n": 1}
    ws: WsAdapter = app.service("ws")
    for connection in list(ws.connections):
        await connection.close(4000, "kicked")
    await tab.wait_for_function("window.opened.length === 2")  # tried the next (down), then came round again
    assert await tab.evaluate("window.opened") == [here, here]
