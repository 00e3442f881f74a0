"""Fixtures: the machine's NATS (BETRUE_TEST_NATS_URL or 127.0.0.1:4222), a subject prefix per test, and
nats-servers of our own on free ports for the tests that kill or restart one."""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest

from betrue.nats import EmbeddedNats, NatsAdapter, NatsConnection, NatsEventBus, find_nats_server
from betrue.server import Application, Context, Group

NATS_DEFAULT = "nats://127.0.0.1:4222"


def nats_url() -> str:
    return os.environ.get("BETRUE_TEST_NATS_URL", NATS_DEFAULT)


@pytest.fixture(scope="session")
def shared_nats() -> str:
    """The URL of a running NATS server: the machine's, or skip saying how to get one."""
    url = nats_url()
    host, _, port = url.split("://", 1)[1].split(",")[0].rpartition(":")
    try:
        socket.create_connection((host, int(port)), timeout=2).close()
    except OSError:
        pytest.skip(f"no NATS server at {url}: run `python tools/services.py ensure` or set BETRUE_TEST_NATS_URL")
    return url


@pytest.fixture
def prefix() -> str:
    """A subject prefix of this test alone: other tests on the same server never see its messages."""
    return f"t{uuid.uuid4().hex[:10]}"


@pytest.fixture
async def own_nats(tmp_path: Path) -> AsyncIterator[EmbeddedNats]:
    """A nats-server of this test alone, on a free port: the tests may kill and restart it."""
    if find_nats_server() is None:
        pytest.skip("nats-server not found (install betrue[embedded]): the restart tests need their own server")
    server = EmbeddedNats(tmp_path / "nats")
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


def service_group(runs: list[str] | None = None) -> Group:
    """Commands the tests call: echo, add (validated), fail (raises a given error), sleep."""
    from betrue.server import error_class

    group = Group("svc")

    @group.command(
        "add",
        input={
            "type": "object",
            "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
            "required": ["a", "b"],
            "additionalProperties": False,
        },
        output={"type": "object", "properties": {"sum": {"type": "integer"}}},
    )
    async def add(params: dict[str, Any], ctx: Context) -> Any:
        return {"sum": params["a"] + params["b"]}

    @group.command("echo")
    async def echo(params: dict[str, Any], ctx: Context) -> Any:
        return {"params": params, "meta": {k: v for k, v in ctx.meta.items() if k.startswith("x-test")}}

    @group.command("fail")
    async def fail(params: dict[str, Any], ctx: Context) -> Any:
        raised = error_class(params["status"])
        assert raised is not None
        raise raised("it failed", details={"why": params["status"]})

    @group.command("sleep")
    async def sleep(params: dict[str, Any], ctx: Context) -> Any:
        if runs is not None:
            runs.append(str(params.get("n")))
        await asyncio.sleep(float(params.get("seconds", 0)))
        return {"n": params.get("n"), "pid": os.getpid()}

    @group.command("big")
    async def big(params: dict[str, Any], ctx: Context) -> Any:
        return {"data": "x" * int(params["size"])}

    return group


AppFactory = Callable[..., Coroutine[Any, Any, Application]]
GroupFactory = Callable[..., Group]


@pytest.fixture
def svc_group() -> GroupFactory:
    """``svc_group(runs)``: the test commands; ``runs`` collects the ``n`` of every svc/sleep that ran."""
    return service_group


@pytest.fixture
async def make_app(shared_nats: str, prefix: str) -> AsyncIterator[AppFactory]:
    """Start apps on NATS (connection, adapter, NATS event bus); all are stopped at the end of the test."""
    apps: list[Application] = []

    async def make(
        name: str = "svc",
        *,
        url: str | None = None,
        groups: list[Group] | None = None,
        environ: dict[str, str] | None = None,
        adapter: bool = True,
        events: bool = True,
        http: bool = False,
        services: list[Any] | None = None,
    ) -> Application:
        env = {"NATS_URL": url or shared_nats, "NATS_PREFIX": prefix, "LOG_LEVEL": "WARNING", **(environ or {})}
        app = Application(
            name, groups=groups if groups is not None else [service_group()], http=http, environ=env, env_file=None
        )
        if http:
            app.loader.forced["http"] = {"port": 0}
        app.add_service(NatsConnection)
        if adapter:
            app.add_service(NatsAdapter)
        if events:
            app.replace_service("events", NatsEventBus)
        for service in services or ():
            app.add_service(service)
        await app.start()
        apps.append(app)
        return app

    try:
        yield make
    finally:
        for app in reversed(apps):
            await app.stop(timeout=2)
