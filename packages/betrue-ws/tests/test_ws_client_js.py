"""The browser client, betrue-ws.js, in headless Chromium: calls, errors, pushes, reconnection."""

from __future__ import annotations

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
    assert await tab.evaluate("window.closes[0]") == {"code": 4000, "reason": "kicked", "reconnecting": True}
    assert await tab.evaluate("ws.state") == "open"
    await tab.evaluate("ws.close()")  # for good: no reconnection, later calls fail at once
    failure = await tab.evaluate("ws.call('t/echo', {}).catch((e) => [e.status, e.details.reason])")
    assert failure == ["ServiceUnavailable", "closed"]
    assert await tab.evaluate("ws.state") == "closed"
