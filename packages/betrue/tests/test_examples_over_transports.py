"""Every command of the hello and gateway examples answers the same over local, HTTP and NATS transports."""

from __future__ import annotations

import os
import socket
import uuid
from typing import Any

import pytest

from betrue.nats import NatsAdapter, NatsConnection
from betrue.server import Application
from examples.gateway.chat import Rooms, chat
from examples.gateway.game import game
from examples.hello.app import Greeter, hello

NATS_URL = os.environ.get("BETRUE_TEST_NATS_URL", "nats://127.0.0.1:4222")

CALLS: list[tuple[str, dict[str, Any]]] = [
    ("hello/greet", {"name": "Ann"}),
    ("hello/greet", {}),
    ("hello/count", {"name": "Ann"}),
    ("hello/count", {"name": "Zed"}),  # NotFound with details
    ("hello/greet", {"name": ""}),  # ValidationError
    ("game/load", {"player": "ann"}),  # calls chat/* through the client
    ("game/load", {"player": ""}),
    ("chat/post", {"room": "r1", "text": "hi"}),
    ("chat/history", {"room": "r1"}),
    ("chat/history", {}),
    ("nope/missing", {}),  # unknown command
]


def examples_app(**options: Any) -> Application:
    app = Application("examples", groups=[hello, game, chat], env_file=None, **options)
    app.add_service(Greeter)
    app.add_service(Rooms)
    return app


async def answers(caller: Application) -> list[dict[str, Any]]:
    found = []
    for code, params in CALLS:
        envelope = dict(await caller.client.call_envelope(code, params))
        envelope.pop("traceId", None)
        found.append(envelope)
    return found


@pytest.fixture(scope="module")
def nats_url() -> str:
    host, _, port = NATS_URL.split("://", 1)[1].rpartition(":")
    try:
        socket.create_connection((host, int(port)), timeout=2).close()
    except OSError:
        pytest.skip(f"no NATS server at {NATS_URL}: run `python tools/services.py ensure` or set BETRUE_TEST_NATS_URL")
    return NATS_URL


async def test_the_examples_answer_the_same_over_local_http_and_nats(nats_url: str) -> None:
    quiet = {"LOG_LEVEL": "WARNING"}
    local = examples_app(http=False, environ=quiet)
    await local.start()
    try:
        over_local = await answers(local)
    finally:
        await local.stop()

    server = examples_app(environ=quiet)
    server.loader.forced["http"] = {"port": 0}
    await server.start()
    caller = Application(
        "caller", http=False, env_file=None, environ={**quiet, "ROUTES": "*=" + server.service("http").url}
    )
    await caller.start()
    try:
        over_http = await answers(caller)
    finally:
        await caller.stop()
        await server.stop()

    prefix = f"t{uuid.uuid4().hex[:10]}"
    nats_env = {**quiet, "NATS_URL": nats_url, "NATS_PREFIX": prefix}
    server = examples_app(http=False, environ=nats_env)
    server.add_service(NatsConnection)
    server.add_service(NatsAdapter)
    await server.start()
    caller = Application(
        "caller", http=False, env_file=None, environ={**quiet, "ROUTES": f"*={nats_url}/examples?prefix={prefix}"}
    )
    await caller.start()
    try:
        over_nats = await answers(caller)
    finally:
        await caller.stop()
        await server.stop()

    assert [envelope["code"] for envelope in over_local] == [200, 200, 200, 404, 400, 200, 400, 200, 200, 400, 404]
    assert over_http == over_local
    assert over_nats == over_local
