"""Discovery over NATS: a gateway with GATEWAY_UPSTREAMS=nats follows apps that start and stop."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import orjson
import pytest

from betrue.nats import NatsConnection
from betrue.server import Application, ServiceUnavailable

AppFactory = Callable[..., Awaitable[Application]]


async def gateway_app(shared_nats: str, prefix: str) -> Application:
    environ = {
        "GATEWAY_UPSTREAMS": "nats",
        "GATEWAY_RETRY_INTERVAL": "0.2",
        "NATS_URL": shared_nats,
        "NATS_PREFIX": prefix,
        "LOG_LEVEL": "WARNING",
    }
    gateway = Application("gw", http=False, environ=environ, env_file=None)
    gateway.proxy()
    await gateway.start()
    return gateway


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 10) -> bool:
    limit = time.monotonic() + timeout
    while time.monotonic() < limit:
        if await check():
            return True
        await asyncio.sleep(0.1)
    return False


async def test_a_gateway_follows_apps_that_start_after_it_and_stop(
    make_app: AppFactory, shared_nats: str, prefix: str
) -> None:
    gateway = await gateway_app(shared_nats, prefix)
    try:
        missing = await gateway.handle("svc/add", {"a": 1, "b": 2})
        assert missing.code == 404  # nobody serves svc yet
        service = await make_app("svc")

        async def served() -> bool:
            return bool((await gateway.handle("svc/add", {"a": 1, "b": 2})).result == {"sum": 3})

        assert await eventually(served), "the gateway picked up the app started after it"
        listed = (await gateway.handle("_app/commands")).result
        assert "svc/add" in {command["code"] for command in listed["commands"]}
        await service.stop()

        async def unavailable() -> bool:
            return (await gateway.handle("svc/add", {"a": 1, "b": 2})).code == 503

        assert await eventually(unavailable), "once the app stopped the gateway answers 503"
        with pytest.raises(ServiceUnavailable):
            await gateway.client.call("svc/add", {"a": 1, "b": 2})
        back = await make_app("svc")
        assert await eventually(served), "and it serves it again when the app is back"
        assert back.started
    finally:
        await gateway.stop()


async def test_a_gateway_finds_the_apps_already_running(make_app: AppFactory, shared_nats: str, prefix: str) -> None:
    await make_app("svc")
    gateway = await gateway_app(shared_nats, prefix)
    try:
        assert (await gateway.handle("svc/add", {"a": 2, "b": 2})).result == {"sum": 4}
    finally:
        await gateway.stop()


async def test_apps_announce_their_commands(make_app: AppFactory, prefix: str) -> None:
    probe = await make_app("probe", adapter=False, events=False, groups=[])
    connection: NatsConnection = probe.service("nats")
    inbox = connection.client.new_inbox()
    answers = await connection.client.subscribe(inbox)
    await make_app("svc")
    await connection.client.publish(f"{prefix}.discovery.query", b"", reply=inbox)
    message = await answers.next_msg(timeout=5)
    body = orjson.loads(message.data)
    assert (body["app"], body["prefix"]) == ("svc", prefix)
    assert "svc/add" in {command["code"] for command in body["commands"]["commands"]}
