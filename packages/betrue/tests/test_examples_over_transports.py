"""Every command of the examples answers the same over local, HTTP and NATS transports (errors included)."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from betrue.nats import NatsAdapter, NatsConnection
from betrue.server import Application
from examples.chat.app import create_app as create_chat
from examples.gateway.chat import Rooms, chat
from examples.gateway.game import game
from examples.hello.app import Greeter, hello

NATS_URL = os.environ.get("BETRUE_TEST_NATS_URL", "nats://127.0.0.1:4222")
QUIET = {"LOG_LEVEL": "WARNING"}

Step = tuple[str, dict[str, Any], bool]
"""(code, params, send the session token)."""

EXAMPLES: list[Step] = [
    ("hello/greet", {"name": "Ann"}, False),
    ("hello/greet", {}, False),
    ("hello/count", {"name": "Ann"}, False),
    ("hello/count", {"name": "Zed"}, False),  # NotFound with details
    ("hello/greet", {"name": ""}, False),  # ValidationError
    ("game/load", {"player": "ann"}, False),  # calls chat/* through the client
    ("game/load", {"player": ""}, False),
    ("chat/post", {"room": "r1", "text": "hi"}, False),
    ("chat/history", {"room": "r1"}, False),
    ("chat/history", {}, False),
    ("nope/missing", {}, False),  # unknown command
]

CHAT: list[Step] = [
    ("user/register", {"name": "ann", "password": "correct horse"}, False),
    ("user/register", {"name": "ann", "password": "correct horse"}, False),  # Conflict
    ("user/login", {"name": "ann", "password": "wrong password"}, False),  # Unauthorized
    ("user/login", {"name": "ann", "password": "correct horse"}, False),
    ("chat/rooms", {}, False),  # no token: Unauthorized
    ("chat/rooms", {}, True),
    # chat/join is served on WebSocket (and to the cluster's gateways over NATS) only: not compared here
    ("chat/send", {"room": "general", "text": "hi"}, True),  # no connection of ann's joined: Forbidden
    ("chat/send", {"text": "hi"}, True),  # ValidationError
]

Build = Callable[..., Application]


def examples_app(*, http: bool, environ: dict[str, str]) -> Application:
    app = Application("examples", groups=[hello, game, chat], http=http, env_file=None, environ=environ)
    app.add_service(Greeter)
    app.add_service(Rooms)
    return app


def chat_app(*, http: bool, environ: dict[str, str]) -> Application:
    # the transports are compared, not the stores: each run starts with no accounts
    return create_chat({**environ, "JWT_SECRET": "s" * 40, "HTTP_PORT": "0"}, env_file=None, store="memory")


async def answers(caller: Application, steps: list[Step]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    token = ""
    for code, params, authorized in steps:
        meta = {"authorization": f"Bearer {token}"} if authorized else None
        envelope = dict(await caller.client.call_envelope(code, params, meta=meta, idempotent=False))
        envelope.pop("traceId", None)
        result = envelope.get("result")
        if isinstance(result, dict) and "token" in result:
            token = result.pop("token")  # different each time: signed with the time
            result.pop("expiresAt")
        if isinstance(result, dict) and "at" in result:
            result["at"] = "<time>"  # a message's time of posting
        found.append(envelope)
    return found


async def over(shape: str, build: Build, steps: list[Step], nats_url: str) -> list[dict[str, Any]]:
    """Start a fresh server app, call every step through a caller routed to it, stop both."""
    prefix = f"t{uuid.uuid4().hex[:10]}"
    environ = {**QUIET, "NATS_URL": nats_url, "NATS_PREFIX": prefix}
    server = build(http=shape == "http", environ=environ)
    if shape == "http":
        server.loader.forced["http"] = {"port": 0}
    if shape == "nats":
        server.add_service(NatsConnection)
        server.add_service(NatsAdapter)
    await server.start()
    try:
        if shape == "local":
            return await answers(server, steps)
        target = server.service("http").url if shape == "http" else f"{nats_url}/{server.name}?prefix={prefix}"
        caller = Application("caller", http=False, env_file=None, environ={**QUIET, "ROUTES": f"*={target}"})
        await caller.start()
        try:
            return await answers(caller, steps)
        finally:
            await caller.stop()
    finally:
        await server.stop()


@pytest.fixture(scope="module")
def nats_url() -> str:
    host, _, port = NATS_URL.split("://", 1)[1].rpartition(":")
    try:
        socket.create_connection((host, int(port)), timeout=2).close()
    except OSError:
        pytest.skip(f"no NATS server at {NATS_URL}: run `python tools/services.py ensure` or set BETRUE_TEST_NATS_URL")
    return NATS_URL


ShapeRun = Callable[[str, Build, list[Step], str], Awaitable[list[dict[str, Any]]]]


async def test_the_hello_and_gateway_examples_answer_the_same_over_local_http_and_nats(nats_url: str) -> None:
    local = await over("local", examples_app, EXAMPLES, nats_url)
    assert [envelope["code"] for envelope in local] == [200, 200, 200, 404, 400, 200, 400, 200, 200, 400, 404]
    assert await over("http", examples_app, EXAMPLES, nats_url) == local
    assert await over("nats", examples_app, EXAMPLES, nats_url) == local


async def test_the_chat_example_answers_the_same_over_local_http_and_nats(nats_url: str) -> None:
    local = await over("local", chat_app, CHAT, nats_url)
    assert [envelope["code"] for envelope in local] == [200, 409, 401, 200, 401, 200, 403, 400]
    assert await over("http", chat_app, CHAT, nats_url) == local
    assert await over("nats", chat_app, CHAT, nats_url) == local
