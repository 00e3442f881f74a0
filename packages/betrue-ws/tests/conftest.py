"""Shared helpers: an app with a few test commands, served on a free port with the WebSocket adapter."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import pytest

from betrue.server import Application, Context, Group, Identity
from betrue.ws import WsAdapter


class Gate:
    """Lets a test hold calls inside their handler and release them when it wants."""

    def __init__(self) -> None:
        self.entered = asyncio.Event()
        self.release = asyncio.Event()
        self.running = 0


def command_group(gate: Gate) -> Group:
    group = Group("t")

    @group.command("echo")
    async def echo(params: dict[str, Any], ctx: Context) -> Any:
        return params

    @group.command("sleep")
    async def sleep(params: dict[str, Any], ctx: Context) -> Any:
        await asyncio.sleep(params.get("seconds", 0))
        return {"n": params.get("n")}

    @group.command("hold")
    async def hold(params: dict[str, Any], ctx: Context) -> Any:
        gate.running += 1
        gate.entered.set()
        await gate.release.wait()
        return {"released": True}

    @group.command("set")
    async def set_attributes(params: dict[str, Any], ctx: Context) -> Any:
        connection = ctx.connection
        assert connection is not None  # called over WebSocket
        connection.set(**params.get("set", {}))
        connection.join(*params.get("join", []))
        if "login" in params:
            connection.identify(Identity(params["login"]))
        return {
            "id": connection.id,
            "attributes": {k: v for k, v in connection.attributes.items() if k != "rooms"},
        }

    @group.command("whoami")
    async def whoami(params: dict[str, Any], ctx: Context) -> Any:
        return {
            "subject": ctx.identity.subject if ctx.identity else None,
            "adapter": ctx.adapter,
            "trace_id": ctx.trace_id,
            "meta": dict(ctx.meta),
        }

    @group.command("emit")
    async def emit(params: dict[str, Any], ctx: Context) -> Any:
        await ctx.emit(params["event"], params.get("data"), to=params.get("to"))
        return {"emitted": params["event"]}

    @group.command("object")
    async def not_json(params: dict[str, Any], ctx: Context) -> Any:
        return {"value": object()}

    return group


@pytest.fixture
def gate() -> Gate:
    return Gate()


@pytest.fixture
def make_app(gate: Gate) -> Callable[..., Application]:
    """``make_app(WS_SEND_QUEUE=16, ...)``: an app with the ``t/*`` commands and the WebSocket adapter."""

    def build(**env: Any) -> Application:
        environ = {"HTTP_PORT": "0", "LOG_LEVEL": "WARNING", **{key: str(value) for key, value in env.items()}}
        app = Application("wstest", groups=[command_group(gate)], environ=environ, env_file=None)
        app.add_service(WsAdapter)
        return app

    return build


@asynccontextmanager
async def _serving(app: Application) -> AsyncIterator[str]:
    """Start ``app`` on a free port; yields the WebSocket URL; stops it after."""
    await app.start()
    try:
        yield app.service("http").url + app.service("ws").config.path
    finally:
        await app.stop()


async def _eventually(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    """Wait until ``predicate()`` holds (polled: the state it reads has no event to await)."""
    async with asyncio.timeout(timeout):
        while not predicate():  # noqa: ASYNC110 - no event to wait on: polling is the point
            await asyncio.sleep(0.01)


Serving = Callable[[Application], AbstractAsyncContextManager[str]]
Eventually = Callable[..., Coroutine[Any, Any, None]]


@pytest.fixture
def serving() -> Serving:
    """``async with serving(app) as url``: the app on a free port, its WebSocket URL."""
    return _serving


@pytest.fixture
def eventually() -> Eventually:
    """``await eventually(lambda: condition)``: poll a condition that has no event to await."""
    return _eventually
