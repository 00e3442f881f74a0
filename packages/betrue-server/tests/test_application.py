"""The Application: lifecycle, configs at start, scopes, contexts, the pipeline order, graceful stop."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from betrue.config import Config, ConfigError, env
from betrue.server import (
    Application,
    CallNext,
    Command,
    Context,
    DependencyError,
    Group,
    Middleware,
    Response,
    Service,
    ValidationError,
)
from betrue.server.testing import TestApp


class DbConfig(Config):
    """Database"""

    url: str = env("DB_URL", description="Where the database is")


class Db(Service):
    config_class = DbConfig
    config: DbConfig


class Log:
    """Collects lifecycle events of services in order."""

    def __init__(self) -> None:
        self.lines: list[str] = []


def tracked(log: Log, name: str, deps: tuple[str, ...] = (), scope: str = "singleton") -> type[Service]:
    class Tracked(Service):
        async def start(self) -> Any:
            log.lines.append(f"start {name}")
            return self

        async def stop(self) -> None:
            log.lines.append(f"stop {name}")

    Tracked.name = name
    Tracked.deps = deps
    Tracked.scope = scope  # type: ignore[assignment]
    return Tracked


def bare_app(**options: Any) -> Application:
    return Application("test", http=False, env_file=None, **options)


async def test_services_start_in_dependency_order_and_stop_in_reverse() -> None:
    log = Log()
    app = bare_app()
    app.add_service(tracked(log, "api", deps=("cache", "db")))
    app.add_service(tracked(log, "cache", deps=("db",)))
    app.add_service(tracked(log, "db"))
    await app.start()
    await app.stop()
    assert log.lines == ["start db", "start cache", "start api", "stop api", "stop cache", "stop db"]


async def test_an_app_can_be_started_again_after_a_stop() -> None:
    app = bare_app()
    for _ in range(2):
        async with TestApp(app) as running:
            assert (await running.call("_app/health"))["result"]["status"] == "ok"


@pytest.mark.parametrize(
    ("services", "message"),
    [
        ([("a", ("b",)), ("b", ("a",))], "dependency cycle: a -> b -> a"),
        ([("a", ("ghost",))], "missing dependency: 'a' needs 'ghost'"),
    ],
)
async def test_dependency_mistakes_fail_start_naming_them(
    services: list[tuple[str, tuple[str, ...]]], message: str
) -> None:
    log = Log()
    app = bare_app()
    for name, deps in services:
        app.add_service(tracked(log, name, deps=deps))
    with pytest.raises(DependencyError, match=message):
        await app.start()
    assert log.lines == []


def test_a_duplicate_service_name_is_refused_when_added() -> None:
    app = bare_app()
    app.add_service(object(), name="store")
    with pytest.raises(DependencyError, match="duplicate service name 'store'"):
        app.add_service(object(), name="store")


async def test_auto_scope_is_request_iff_a_dependency_is_request_scoped() -> None:
    app = bare_app()
    app.add_service(tracked(Log(), "tx", scope="request"))
    app.add_service(tracked(Log(), "repo", deps=("tx",), scope="auto"))
    app.add_service(tracked(Log(), "settings"))
    app.add_service(tracked(Log(), "mailer", deps=("settings",), scope="auto"))
    probe = Group("probe")

    @probe.command("ids")
    async def ids(params: dict[str, Any], ctx: Context) -> dict[str, int]:
        repo, again, mailer = await ctx.service("repo"), await ctx.service("repo"), await ctx.service("mailer")
        assert repo is again  # built once per call
        return {"repo": id(repo), "mailer": id(mailer)}

    app.include(probe)
    async with TestApp(app) as running:
        assert app.container.scope_of("repo") == "request"
        assert app.container.scope_of("mailer") == "singleton"
        first, second = await running.result("probe/ids"), await running.result("probe/ids")
    assert first["repo"] != second["repo"]
    assert first["mailer"] == second["mailer"]


async def test_a_singleton_cannot_depend_on_a_request_scoped_service() -> None:
    app = bare_app()
    app.add_service(tracked(Log(), "tx", scope="request"))
    app.add_service(tracked(Log(), "repo", deps=("tx",)))
    with pytest.raises(DependencyError, match="singleton 'repo' depends on request-scoped"):
        await app.start()


async def test_request_scoped_services_stop_after_each_call() -> None:
    log = Log()
    app = bare_app()
    app.add_service(tracked(log, "tx", scope="request"))
    probe = Group("probe")

    @probe.command("use")
    async def use(params: dict[str, Any], ctx: Context) -> None:
        await ctx.service("tx")

    app.include(probe)
    async with TestApp(app) as running:
        await running.call("probe/use")
        await running.call("probe/use")
    assert log.lines == ["start tx", "stop tx", "start tx", "stop tx"]


async def test_the_same_service_twice_reads_two_env_prefixes() -> None:
    app = bare_app(environ={"GAME_DB_URL": "postgres://game", "CHAT_DB_URL": "postgres://chat"})
    app.add_service(Db, name="game_db", context="game")
    app.add_service(Db, name="chat_db", context="chat")
    async with TestApp(app):
        assert app.service("game_db").config.url == "postgres://game"
        assert app.service("chat_db").config.url == "postgres://chat"


async def test_config_errors_of_every_service_are_raised_together() -> None:
    app = bare_app(environ={"LOG_LEVEL": "LOUD"})
    app.add_service(Db, name="game_db", context="game", description="Game database")
    app.add_service(Db, name="chat_db", context="chat", description="Chat database")
    with pytest.raises(ConfigError) as raised:
        await app.start()
    text = str(raised.value)
    for expected in ("Game database (context: GAME)", "GAME_DB_URL", "Chat database", "CHAT_DB_URL", "LOG_LEVEL"):
        assert expected in text
    assert len(raised.value.tables) == 3


async def test_config_overrides_when_added_act_as_defaults() -> None:
    app = bare_app(environ={})
    app.add_service(Db, name="db", config={"url": "postgres://default"})
    async with TestApp(app):
        assert app.service("db").config.url == "postgres://default"


def recorder(seen: list[str], name: str) -> Middleware:
    async def middleware(ctx: Context, params: Any, call_next: CallNext) -> Response:
        seen.append(f"{name} in")
        response = await call_next(ctx, params)
        seen.append(f"{name} out")
        return response

    return middleware


async def test_middlewares_run_app_then_group_then_command_inside_the_plugged_stages() -> None:
    seen: list[str] = []
    shop = Group("shop", middlewares=[recorder(seen, "group")])

    @shop.command("buy", middlewares=[recorder(seen, "command")])
    async def buy(params: dict[str, Any], ctx: Context) -> None:
        seen.append("handler")

    app = bare_app(groups=[shop], middlewares=[recorder(seen, "app")])
    app.add_stage("stream", lambda app, command: recorder(seen, "plugged"))
    async with TestApp(app) as running:
        await running.call("shop/buy")
    assert seen == [
        *("plugged in", "app in", "group in", "command in"),
        "handler",
        *("command out", "group out", "app out", "plugged out"),
    ]


async def test_a_group_middleware_runs_only_for_its_own_group() -> None:
    seen: list[str] = []
    admin = Group("admin")
    public = Group("public")

    @admin.use
    async def only_admins(ctx: Context, params: Any, call_next: CallNext) -> Response:
        seen.append(ctx.code)
        if ctx.meta.get("x-role") != "admin":
            return Response.from_error(ValidationError("admins only"))
        return await call_next(ctx, params)

    @admin.command("wipe")
    async def wipe(params: dict[str, Any], ctx: Context) -> str:
        return "wiped"

    @public.command("read")
    async def read(params: dict[str, Any], ctx: Context) -> str:
        return "read"

    async with TestApp(bare_app(groups=[admin, public])) as running:
        assert (await running.call("public/read"))["result"] == "read"
        assert (await running.call("admin/wipe"))["code"] == 400
        assert (await running.call("admin/wipe", meta={"x-role": "admin"}))["result"] == "wiped"
    assert seen == ["admin/wipe", "admin/wipe"]


async def test_user_middlewares_see_raw_params_and_handler_exceptions() -> None:
    """Validation runs inside user middlewares; the error boundary outside them."""
    seen: list[Any] = []
    shop = Group("shop")

    @shop.use
    async def spy(ctx: Context, params: Any, call_next: CallNext) -> Response:
        seen.append(dict(params))
        try:
            return await call_next(ctx, params)
        except ValueError as error:
            seen.append(str(error))
            return Response({"recovered": True})

    @shop.command("buy", input={"type": "object", "properties": {"n": {"type": "integer"}}})
    async def buy(params: dict[str, Any], ctx: Context) -> None:
        raise ValueError("out of stock")

    async with TestApp(bare_app(groups=[shop])) as running:
        assert (await running.call("shop/buy", {"n": "x"}))["code"] == 400
        assert (await running.call("shop/buy", {"n": 1}))["result"] == {"recovered": True}
    assert seen == [{"n": "x"}, {"n": 1}, "out of stock"]


async def test_handle_never_raises() -> None:
    class Fragile(Service):
        name = "fragile"
        scope = "request"

        async def stop(self) -> None:
            raise RuntimeError("cannot stop")

    probe = Group("probe")

    @probe.command("use")
    async def use(params: dict[str, Any], ctx: Context) -> str:
        await ctx.service("fragile")
        return "used"

    app = bare_app(groups=[probe])
    app.add_service(Fragile)
    async with TestApp(app) as running:
        assert (await running.call("probe/use"))["result"] == "used"
        assert (await running.call("probe/use", [1, 2]))["code"] == 400
        assert (await running.call("nope/nothing"))["code"] == 404


async def test_stop_lets_calls_in_flight_finish_and_refuses_new_ones() -> None:
    entered, release = asyncio.Event(), asyncio.Event()
    slow = Group("slow")

    @slow.command("wait")
    async def wait(params: dict[str, Any], ctx: Context) -> str:
        entered.set()
        await release.wait()
        return "done"

    app = bare_app(groups=[slow])
    await app.start(serve=False)
    call = asyncio.create_task(app.handle("slow/wait"))
    await entered.wait()
    stopping = asyncio.create_task(app.stop(timeout=5))
    await asyncio.sleep(0)
    refused = await app.handle("slow/wait")
    assert refused.status == "ServiceUnavailable"
    assert not stopping.done()
    release.set()
    assert (await call).result == "done"
    await stopping


async def test_stop_gives_up_on_calls_after_the_grace_period() -> None:
    slow = Group("slow")
    entered = asyncio.Event()

    @slow.command("forever")
    async def forever(params: dict[str, Any], ctx: Context) -> None:
        entered.set()
        await asyncio.Event().wait()

    app = bare_app(groups=[slow])
    await app.start(serve=False)
    call = asyncio.create_task(app.handle("slow/forever"))
    await entered.wait()
    async with asyncio.timeout(3):
        await app.stop(timeout=0.1)
    call.cancel()


async def test_a_command_added_after_start_gets_its_pipeline() -> None:
    app = bare_app()
    async with TestApp(app) as running:

        async def late(params: dict[str, Any], ctx: Context) -> str:
            return "late"

        app.add_command(Command("late/call", late))
        assert (await running.call("late/call"))["result"] == "late"
        app.remove_command("late/call")
        assert (await running.call("late/call"))["code"] == 404
