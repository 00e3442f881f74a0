"""betrue.server.ext is enough to build a backend: transports found by URL scheme, push targets typed."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

import betrue.server.ext as ext
from betrue.server import Application, Context, Group
from betrue.server.ext import TRANSPORT_ENTRY_POINTS, Connection, Envelope, Transport
from betrue.server.testing import TestApp
from betrue.ws import Connection as WsConnection

PLUGIN = """
from betrue.server.ext import Transport


class EchoTransport(Transport):
    def __init__(self, target):
        self.target = target

    async def call(self, code, params, meta, deadline):
        return {"code": 200, "status": "Success", "result": {"code": code, "params": params, "via": self.target}}


def make(target):
    return EchoTransport(target)
"""


@pytest.fixture
def installed_transport(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A package installed on sys.path that registers the ``betrueecho`` scheme, as betrue-nats does ``nats``."""
    (tmp_path / "betrue_echo_plugin.py").write_text(PLUGIN)
    dist = tmp_path / "betrue_echo_plugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: betrue-echo-plugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(f"[{TRANSPORT_ENTRY_POINTS}]\nbetrueecho = betrue_echo_plugin:make\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    return "betrueecho"


def test_every_name_of_the_surface_is_there() -> None:
    missing = [name for name in ext.__all__ if not hasattr(ext, name)]
    assert missing == []
    assert TRANSPORT_ENTRY_POINTS == "betrue.transports"


async def test_an_installed_transport_serves_a_route_with_no_other_code(installed_transport: str) -> None:
    shop = Group("shop")

    @shop.command("ask")
    async def ask(params: Any, ctx: Context) -> Any:
        return await ctx.client.call("remote/hello", {"n": 1})

    app = Application("plugged", groups=[shop], http=False, env_file=None)
    env = {"ROUTES": f"remote={installed_transport}://127.0.0.1:4222"}
    async with TestApp(app, env=env) as running:
        answer = await running.result("shop/ask")
    assert answer == {"code": "remote/hello", "params": {"n": 1}, "via": "betrueecho://127.0.0.1:4222"}


def test_an_unknown_scheme_names_every_known_one_installed_ones_included(installed_transport: str) -> None:
    app = Application("schemes", http=False, env_file=None)
    with pytest.raises(ValueError, match="no transport for 'nope://x'") as raised:
        app.client.transport("nope://x")
    assert "'betrueecho'" in str(raised.value)
    assert "'http'" in str(raised.value)


class Memory(Transport):
    def __init__(self, target: str) -> None:
        self.target = target

    async def call(self, code: str, params: Any, meta: Mapping[str, str], deadline: float | None) -> Envelope:
        return {"code": 200, "status": "Success", "result": {"memory": self.target, "code": code}}


async def test_a_transport_registered_in_code_serves_its_scheme() -> None:
    shop = Group("shop")

    @shop.command("ask")
    async def ask(params: Any, ctx: Context) -> Any:
        return await ctx.client.call("stock/count")

    app = Application("registered", groups=[shop], http=False, env_file=None)
    app.client.register_transport("mem", Memory)
    assert "mem" in app.client.known_schemes()
    async with TestApp(app, env={"ROUTES": "stock=mem://a"}) as running:
        assert await running.result("shop/ask") == {"memory": "mem://a", "code": "stock/count"}


def _push_target(connection: WsConnection) -> Connection:
    return connection  # mypy checks that a WebSocket connection is a push target


def test_a_websocket_connection_is_a_push_target() -> None:
    names = ["id", "identity", "remote", "attributes", "rooms", "set", "join", "leave", "identify", "send"]
    assert [
        name for name in names if not hasattr(WsConnection, name) and name not in {"id", "identity", "remote"}
    ] == []
    assert _push_target.__annotations__["return"] == "Connection"
