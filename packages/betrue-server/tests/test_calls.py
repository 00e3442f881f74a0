"""The client's call path: your client middlewares, their place among the built-in stages."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from betrue.server import Application, Call, ServiceUnavailable
from betrue.server.client._calls import Envelope, Send, failed
from betrue.server.testing import TestApp


def test_only_502_503_and_504_say_the_target_is_in_trouble() -> None:
    assert [code for code in (200, 400, 404, 429, 500, 502, 503, 504) if failed({"code": code})] == [502, 503, 504]


async def test_a_client_middleware_sees_each_call_once_outside_the_retries() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    seen: list[tuple[str, dict[str, str]]] = []

    async def stamp(call: Call, send: Send) -> Envelope:
        call.meta["x-tenant"] = "t1"
        envelope = await send(call)
        seen.append((call.code, dict(call.meta)))
        return envelope

    environ = {"ROUTES": f"remote=http://127.0.0.1:{port}", "CLIENT_RETRY_BACKOFF": "0.001"}
    app = Application("caller", env_file=None, environ=environ)
    app.client.middlewares.append(stamp)
    async with TestApp(app):
        with pytest.raises(ServiceUnavailable):
            await app.client.call("remote/read", {}, idempotent=True)
        result: Any = await app.client.call("_app/health", {})
    assert result["status"] == "ok"
    assert [code for code, _ in seen] == ["remote/read", "_app/health"]
    assert seen[0][1]["x-tenant"] == "t1"
