"""What other parts do to the client goes through its public methods: middlewares, meta hooks, transports, routes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from betrue.server import Application, Context, Group, LocalTransport, Transport
from betrue.server.client import Call, Send
from betrue.server.testing import TestApp
from betrue.server.types import Envelope


def _app() -> Application:
    peek = Group("peek")

    @peek.command("meta")
    async def meta(params: Any, ctx: Context) -> dict[str, str]:
        return {name: value for name, value in ctx.meta.items() if name.startswith("x-") and name != "x-trace-id"}

    @peek.command("call")
    async def call(params: Any, ctx: Context) -> Any:
        return await ctx.client.call(params["code"], params.get("params"))

    return Application("hooks", groups=[peek], http=False, env_file=None)


async def test_a_client_middleware_runs_around_every_outgoing_call_in_the_order_added() -> None:
    app = _app()
    order: list[str] = []

    def stamp(name: str) -> Any:
        async def middleware(call: Call, send: Send) -> Envelope:
            order.append(f"{name} {call.code}")
            call.meta[f"x-{name}"] = "yes"
            return await send(call)

        return middleware

    app.client.add_middleware(stamp("first"))
    app.client.add_middleware(stamp("second"))
    async with TestApp(app) as running:
        seen = await running.result("peek/call", {"code": "peek/meta"})
    assert order == ["first peek/meta", "second peek/meta"]
    assert seen == {"x-first": "yes", "x-second": "yes"}


async def test_a_meta_hook_adds_headers_with_the_calling_context() -> None:
    app = _app()
    callers: list[str | None] = []

    def tenant(ctx: Context | None, meta: dict[str, str]) -> None:
        callers.append(ctx.code if ctx is not None else None)
        meta["x-tenant"] = "t1"

    assert app.client.add_meta_hook(tenant) is tenant
    async with TestApp(app) as running:
        assert await running.result("peek/call", {"code": "peek/meta"}) == {"x-tenant": "t1"}
        assert await app.client.call("peek/meta") == {"x-tenant": "t1"}
    assert callers == ["peek/call", None]


class Recording(Transport):
    """Answers every call itself and remembers it; what a NATS transport would do over the wire."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.codes: list[str] = []

    async def call(self, code: str, params: Any, meta: Mapping[str, str], deadline: float | None) -> Envelope:
        self.codes.append(code)
        return {"code": 200, "status": "Success", "result": {"via": self.target}}


async def test_a_registered_scheme_makes_one_shared_transport_per_target() -> None:
    app = _app()
    made: list[Recording] = []

    def factory(target: str) -> Recording:
        made.append(Recording(target))
        return made[-1]

    app.client.register_transport("rec", factory)
    assert {"http", "https", "rec"} <= set(app.client.known_schemes())
    async with TestApp(app, env={"ROUTES": "game=rec://one,chat=rec://one/"}) as running:
        assert await running.result("peek/call", {"code": "game/load"}) == {"via": "rec://one"}
        assert await running.result("peek/call", {"code": "chat/rooms"}) == {"via": "rec://one"}
    assert len(made) == 1
    assert made[0].codes == ["game/load", "chat/rooms"]


def test_an_unknown_scheme_fails_naming_the_known_ones() -> None:
    app = _app()
    with pytest.raises(ValueError, match=r"no transport for 'carrier://x': known schemes \[.*'http'.*\]"):
        app.client.transport("carrier://x")


async def test_route_if_unrouted_keeps_a_route_already_set() -> None:
    app = _app()
    first, second = Recording("rec://first"), Recording("rec://second")
    assert app.client.route_if_unrouted("game", first) is first
    assert app.client.route_if_unrouted("game", second) is first
    assert app.client.transport_for("game/load") is first
    assert isinstance(app.client.transport_for("other/x"), LocalTransport)


def test_learnt_idempotency_is_what_the_client_knows_before_a_call() -> None:
    app = _app()
    policy = app.client.default_policy
    assert app.client.idempotency.of("game/load", policy, None) is None
    app.client.learn_idempotent("game/load", True)
    app.client.learn_idempotent("game/save", False)
    assert app.client.idempotency.of("game/load", policy, None) is True
    assert app.client.idempotency.of("game/save", policy, None) is False
    assert app.client.idempotency.of("game/save", policy, True) is True  # the caller's word wins
