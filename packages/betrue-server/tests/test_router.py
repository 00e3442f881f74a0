"""The router: the command table, definition-time checks, ``handle``'s answers, resolvers and draining."""

from __future__ import annotations

import asyncio
import time
from typing import Any, ClassVar

import pytest

from betrue.server import (
    Application,
    CallNext,
    Context,
    Group,
    Middleware,
    NotFound,
    Response,
    Service,
    ServiceUnavailable,
)
from betrue.server.errors import BetrueError
from betrue.server.router import Router
from betrue.server.testing import TestApp


def _app(*groups: Group) -> Application:
    return Application("routed", groups=list(groups), http=False, env_file=None)


def _shop() -> Group:
    shop = Group("shop")

    @shop.command("echo")
    async def echo(params: Any, ctx: Context) -> Any:
        return params

    return shop


# -- definition --------------------------------------------------------------------------------


def test_the_app_handle_is_the_router_handle() -> None:
    app = _app(_shop())
    assert isinstance(app.router, Router)
    assert app.handle == app.router.handle
    assert app.commands is app.router.commands
    assert "shop/echo" in app.router.commands


def test_two_groups_defining_the_same_code_fail_at_definition_naming_both_handlers() -> None:
    first, second = Group("shop"), Group("shop")

    @first.command("buy")
    async def buy_here(params: Any, ctx: Context) -> None:
        return None

    @second.command("buy")
    async def buy_there(params: Any, ctx: Context) -> None:
        return None

    app = _app(first)
    with pytest.raises(ValueError, match="two groups are named 'shop'"):
        app.include(second)
    assert app.commands["shop/buy"].handler is buy_here


def test_a_command_added_twice_under_one_code_names_both_definitions() -> None:
    shop = Group("shop")

    @shop.command("buy")
    async def buy(params: Any, ctx: Context) -> None:
        return None

    other = Group("other")

    @other.command("buy")
    async def buy_elsewhere(params: Any, ctx: Context) -> None:
        return None

    app = _app(shop)
    stray = other.commands[0]
    stray.code = "shop/buy"
    with pytest.raises(ValueError, match="duplicate command 'shop/buy'") as raised:
        app.add_command(stray)
    assert "<locals>.buy and " in str(raised.value)
    assert "<locals>.buy_elsewhere both define it" in str(raised.value)


def test_a_group_that_defines_one_name_twice_fails_when_included() -> None:
    shop = Group("shop")

    @shop.command("buy")
    async def first(params: Any, ctx: Context) -> None:
        return None

    @shop.command("buy")
    async def second(params: Any, ctx: Context) -> None:
        return None

    with pytest.raises(ValueError, match=r"group 'shop' defines \['shop/buy'\] twice"):
        _app(shop)


def test_including_the_same_group_again_is_refused_as_duplicate_codes() -> None:
    shop = _shop()
    app = _app(shop)
    with pytest.raises(ValueError, match="duplicate command 'shop/echo'"):
        app.include(shop)


def test_an_unknown_slot_is_refused_naming_the_pluggable_ones() -> None:
    app = _app()
    with pytest.raises(ValueError, match=r"pluggable slots are \['log', 'trace', 'metrics', 'authorize', 'stream'\]"):
        app.add_stage("auth", lambda app, command: None)


# -- handle ------------------------------------------------------------------------------------


async def test_an_unknown_command_is_a_404_envelope_with_a_trace_id() -> None:
    app = _app(_shop())
    async with TestApp(app):
        response = await app.handle("shop/nothing", {}, {"x-trace-id": "t-404"})
    assert response.error is not None
    assert response.error.code == 404
    assert response.trace_id == "t-404"


async def test_params_that_are_not_an_object_are_a_400_before_any_stage() -> None:
    seen: list[str] = []

    async def spy(ctx: Context, params: Any, call_next: CallNext) -> Response:
        seen.append(ctx.code)
        return await call_next(ctx, params)

    app = _app(_shop())
    app.use(spy)
    async with TestApp(app):
        for params in ([1, 2], "text", 3):
            response = await app.handle("shop/echo", params)
            assert response.error is not None
            assert response.error.details == {"reason": "not_an_object"}
        ok = await app.handle("shop/echo", None)
    assert ok.result == {}
    assert seen == ["shop/echo"]


async def test_a_call_after_stop_is_a_503_not_a_crash() -> None:
    app = _app(_shop())
    async with TestApp(app):
        pass
    response = await app.handle("shop/echo", {})
    assert isinstance(response.error, ServiceUnavailable)
    assert response.error.message == "The application is shutting down"


async def test_the_trace_id_comes_from_the_argument_then_the_meta_then_a_new_one() -> None:
    app = _app(_shop())
    async with TestApp(app):
        given = await app.handle("shop/echo", {}, {"x-trace-id": "from-meta"}, trace_id="from-argument")
        from_meta = await app.handle("shop/echo", {}, {"x-trace-id": "from-meta"})
        parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        from_parent = await app.handle("shop/echo", {}, {"traceparent": parent})
        fresh = await app.handle("shop/echo", {})
    assert given.trace_id == "from-argument"
    assert from_meta.trace_id == "from-meta"
    assert from_parent.trace_id == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert fresh.trace_id is not None
    assert len(fresh.trace_id) == 32


async def test_a_deadline_already_passed_answers_504() -> None:
    slow = Group("slow")

    @slow.command("wait")
    async def wait(params: Any, ctx: Context) -> str:
        await asyncio.sleep(5)
        return "late"

    app = _app(slow)
    async with TestApp(app):
        response = await app.handle("slow/wait", {}, deadline=time.time() + 0.05)
    assert response.error is not None
    assert response.error.code == 504


async def test_a_refused_call_is_reported_to_on_rejected_with_its_adapter() -> None:
    app = _app(_shop())
    rejected: list[tuple[str, int, str]] = []

    def record(code: str, trace_id: str, error: BetrueError, *, adapter: str) -> None:
        rejected.append((code, error.code, adapter))

    app.router.on_rejected = record
    async with TestApp(app):
        await app.handle("shop/none", {}, adapter="ws")
        await app.handle("shop/echo", [], adapter="http")
    assert rejected == [("shop/none", 404, "ws"), ("shop/echo", 400, "http")]


async def test_a_command_added_after_start_is_served_at_once_and_removal_stops_it() -> None:
    app = _app()
    late = Group("late")

    @late.command("hi")
    async def hi(params: Any, ctx: Context) -> str:
        return "hi"

    async with TestApp(app) as running:
        app.add_command(late.commands[0])
        assert await running.result("late/hi") == "hi"
        app.remove_command("late/hi")
        response = await app.handle("late/hi", {})
    assert response.error is not None
    assert response.error.code == 404


# -- resolvers ---------------------------------------------------------------------------------


async def test_a_resolver_can_register_an_unknown_command_on_first_call() -> None:
    app = _app()
    asked: list[str] = []

    async def resolve(code: str) -> bool:
        asked.append(code)
        if not code.startswith("lazy/"):
            return False
        group = Group("lazy")

        @group.command(code.split("/", 1)[1])
        async def answer(params: Any, ctx: Context) -> str:
            return f"resolved {ctx.code}"

        app.add_command(group.commands[0])
        return True

    app.router.add_resolver(resolve)
    async with TestApp(app) as running:
        assert await running.result("lazy/one") == "resolved lazy/one"
        assert await running.result("lazy/one") == "resolved lazy/one"  # known now: not asked again
        missing = await app.handle("other/one", {})
    assert missing.error is not None
    assert missing.error.code == 404
    assert asked == ["lazy/one", "other/one"]


async def test_a_resolver_that_fails_answers_its_error_and_a_removed_one_is_not_asked() -> None:
    app = _app()

    async def down(code: str) -> bool:
        raise ServiceUnavailable("upstream down", details={"reason": "upstream_down"})

    app.router.add_resolver(down)
    async with TestApp(app):
        response = await app.handle("game/load", {})
        assert response.error is not None
        assert response.error.code == 503
        app.router.remove_resolver(down)
        app.router.remove_resolver(down)  # removing twice is harmless
        assert (await app.handle("game/load", {})).error.code == 404  # type: ignore[union-attr]


# -- calls in flight and scopes ----------------------------------------------------------------


async def test_stop_waits_for_a_call_in_flight_and_counts_it() -> None:
    slow = Group("slow")
    entered = asyncio.Event()
    release = asyncio.Event()

    @slow.command("hold")
    async def hold(params: Any, ctx: Context) -> str:
        entered.set()
        await release.wait()
        return "done"

    app = _app(slow)
    await app.start(serve=False)
    call = asyncio.create_task(app.handle("slow/hold", {}))
    await entered.wait()
    assert app.router.inflight == 1
    stopping = asyncio.create_task(app.stop(timeout=10))
    await asyncio.sleep(0.05)
    assert not stopping.done()
    refused = await app.handle("slow/hold", {})
    assert refused.error is not None
    assert refused.error.code == 503
    release.set()
    assert (await call).result == "done"
    await stopping
    assert app.router.inflight == 0


async def test_drained_reports_false_when_the_grace_runs_out() -> None:
    slow = Group("slow")
    entered = asyncio.Event()

    @slow.command("stuck")
    async def stuck(params: Any, ctx: Context) -> None:
        entered.set()
        await asyncio.sleep(30)

    app = _app(slow)
    await app.start(serve=False)
    call = asyncio.create_task(app.handle("slow/stuck", {}))
    await entered.wait()
    app.router.stop_accepting()
    assert await app.router.drained(0.05) is False
    call.cancel()
    await asyncio.gather(call, return_exceptions=True)
    await app.stop(timeout=0)


class PerCall(Service):
    name = "per_call"
    scope = "request"
    stopped: ClassVar[list[int]] = []

    async def stop(self) -> None:
        PerCall.stopped.append(id(self))


async def test_a_request_scoped_service_is_stopped_when_its_call_ends_even_on_error() -> None:
    shop = Group("shop")

    @shop.command("use")
    async def use(params: Any, ctx: Context) -> None:
        await ctx.service(PerCall)
        if params.get("fail"):
            raise NotFound("gone")

    app = _app(shop)
    app.add_service(PerCall)
    PerCall.stopped = []
    async with TestApp(app) as running:
        await running.call("shop/use", {})
        await running.call("shop/use", {"fail": True})
    assert len(PerCall.stopped) == 2


def _marker(name: str, seen: list[str]) -> Middleware:
    async def stage(ctx: Context, params: Any, call_next: CallNext) -> Response:
        seen.append(name)
        return await call_next(ctx, params)

    return stage


async def test_stage_factories_are_asked_per_command_and_may_skip_one() -> None:
    seen: list[str] = []
    asked: list[str] = []
    app = _app(_shop())

    def only_shop(app: Application, command: Any) -> Middleware | None:
        asked.append(command.code)
        return _marker(command.code, seen) if command.code.startswith("shop/") else None

    app.add_stage("authorize", only_shop)
    async with TestApp(app) as running:
        await running.call("shop/echo", {})
        await running.call("_app/health", {})
    assert sorted(asked) == ["_app/commands", "_app/health", "shop/echo"]
    assert seen == ["shop/echo"]
