"""The verbs of a context: ctx.client carries the call along, services come per call, the logger is bound."""

from __future__ import annotations

import time
from typing import Any

from betrue.server import Application, BoundClient, Client, Context, Group, Identity, Service
from betrue.server.testing import TestApp
from betrue.server.types import Caller


def _typed_callers(bound: BoundClient, client: Client) -> list[Caller]:
    return [bound, client]  # mypy checks both are Callers: ctx.client and app.client answer alike


def _app() -> Application:
    inner = Group("inner")

    @inner.command("seen")
    async def seen(params: Any, ctx: Context) -> dict[str, Any]:
        return {
            "trace_id": ctx.trace_id,
            "adapter": ctx.adapter,
            "authorization": ctx.meta.get("authorization"),
            "has_deadline": ctx.deadline is not None,
        }

    outer = Group("outer")

    @outer.command("relay")
    async def relay(params: Any, ctx: Context) -> Any:
        return await ctx.client.call("inner/seen", timeout=params.get("timeout"))

    @outer.command("same")
    async def same(params: Any, ctx: Context) -> bool:
        first, second = ctx.client, ctx.client
        return type(first) is type(second) and isinstance(first, BoundClient)

    @outer.command("scope")
    async def scope(params: Any, ctx: Context) -> dict[str, Any]:
        made_before = ctx._scope is not None
        if params.get("use"):
            await ctx.service("counter")
        return {"made_before": made_before, "made_after": ctx._scope is not None}

    @outer.command("time")
    async def remaining(params: Any, ctx: Context) -> Any:
        left = ctx.remaining()
        return None if left is None else round(left)

    return Application("verbs", groups=[inner, outer], http=False, env_file=None)


class Counter(Service):
    name = "counter"
    scope = "request"


async def test_ctx_client_carries_the_trace_credentials_and_deadline_of_the_call() -> None:
    app = _app()
    async with TestApp(app) as running:
        meta = {"x-trace-id": "relay-1", "authorization": "Bearer abc"}
        seen = await running.result("outer/relay", {"timeout": 5}, meta=meta)
    assert seen == {"trace_id": "relay-1", "adapter": "local", "authorization": "Bearer abc", "has_deadline": True}


async def test_a_call_from_outside_any_command_starts_a_trace_of_its_own() -> None:
    app = _app()
    async with TestApp(app):
        first = await app.client.call("inner/seen")
        second = await app.client.call("inner/seen")
    assert first["trace_id"] != second["trace_id"]
    assert first["authorization"] is None


async def test_ctx_client_is_bound_to_the_call() -> None:
    async with TestApp(_app()) as running:
        assert await running.result("outer/same") is True


async def test_a_request_scope_is_made_only_when_a_call_asks_for_a_request_service() -> None:
    app = _app()
    app.add_service(Counter)
    async with TestApp(app) as running:
        assert await running.result("outer/scope") == {"made_before": False, "made_after": False}
        assert await running.result("outer/scope", {"use": True}) == {"made_before": False, "made_after": True}


async def test_remaining_is_none_without_a_deadline_and_counts_down_with_one() -> None:
    app = _app()
    async with TestApp(app) as running:
        assert await running.result("outer/time") is None
        response = await app.handle("outer/time", {}, deadline=time.time() + 30)
    assert response.result in (29, 30)


async def test_the_identity_a_caller_passes_is_the_handlers() -> None:
    who = Group("who")

    @who.command("am_i")
    async def am_i(params: Any, ctx: Context) -> str | None:
        return ctx.identity.subject if ctx.identity is not None else None

    app = Application("ids", groups=[who], http=False, env_file=None)
    async with TestApp(app) as running:
        assert await running.result("who/am_i", identity=Identity("ann")) == "ann"
        assert await running.result("who/am_i") is None
