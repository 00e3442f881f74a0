"""The client's transports: one per target, shared, closed at stop; routes from config last one run."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from betrue.server import Application, Context, Group, LocalTransport, Transport
from betrue.server.testing import TestApp
from betrue.server.types import Envelope


class Counting(Transport):
    """Counts its calls and its closes."""

    closed: ClassVar[list[str]] = []

    def __init__(self, target: str) -> None:
        self.target = target
        self.calls = 0

    async def call(self, code: str, params: Any, meta: Mapping[str, str], deadline: float | None) -> Envelope:
        self.calls += 1
        return {"code": 200, "status": "Success", "result": {"target": self.target, "calls": self.calls}}

    async def close(self) -> None:
        Counting.closed.append(self.target)


def _app() -> Application:
    lobby = Group("lobby")

    @lobby.command("ask")
    async def ask(params: Any, ctx: Context) -> Any:
        return await ctx.client.call(params["code"])

    app = Application("transports", groups=[lobby], http=False, env_file=None)
    app.client.register_transport("count", Counting)
    return app


def test_a_target_with_or_without_a_trailing_slash_is_one_transport() -> None:
    app = _app()
    first = app.client.transport("count://a/")
    assert app.client.transport("count://a") is first
    assert app.client.transport("count://a/") is first
    assert app.client.transport("count://b") is not first
    assert isinstance(app.client.transport("local"), LocalTransport)


async def test_transports_are_closed_at_stop_and_made_again_at_the_next_start() -> None:
    Counting.closed = []
    app = _app()
    async with TestApp(app, env={"ROUTES": "game=count://a,chat=count://a"}) as running:
        assert await running.result("lobby/ask", {"code": "game/load"}) == {"target": "count://a", "calls": 1}
        assert await running.result("lobby/ask", {"code": "chat/rooms"}) == {"target": "count://a", "calls": 2}
    assert Counting.closed == ["count://a"]
    async with TestApp(app, env={"ROUTES": "game=count://a"}) as running:
        assert await running.result("lobby/ask", {"code": "game/load"}) == {"target": "count://a", "calls": 1}


async def test_routes_from_config_last_one_run_and_code_routes_stay() -> None:
    app = _app()
    coded = app.client.route("chat", "count://coded")
    async with TestApp(app, env={"ROUTES": "game=count://configured"}) as running:
        assert (await running.result("lobby/ask", {"code": "game/load"}))["target"] == "count://configured"
        assert (await running.result("lobby/ask", {"code": "chat/rooms"}))["target"] == "count://coded"
    assert app.client.routes == {"chat": coded}
    async with TestApp(app) as running:
        answer = await running.call("lobby/ask", {"code": "game/load"})
    assert answer["status"] == "NotFound"  # no route now: the local app has no game/load


async def test_a_star_route_serves_every_other_group() -> None:
    app = _app()
    async with TestApp(app, env={"ROUTES": "*=count://all,lobby=local"}) as running:
        assert (await running.result("lobby/ask", {"code": "any/thing"}))["target"] == "count://all"
    assert isinstance(app.client.transport_for("lobby/ask"), LocalTransport)
