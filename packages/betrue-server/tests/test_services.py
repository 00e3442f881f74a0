"""Everything a handler reaches is a service: overriding one in TestApp changes what handlers get."""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from typing import Any, assert_type

import pytest

from betrue.server import (
    Adapter,
    Application,
    BetrueError,
    CallNext,
    Context,
    DependencyError,
    Event,
    Group,
    MemoryEventBus,
    Middleware,
    NotFound,
    Response,
    Service,
)
from betrue.server.jobs import MemoryJobQueue
from betrue.server.testing import TestApp
from betrue.server.types import Caller, Envelope


def _app(group: Group, *, http: bool = False) -> Application:
    return Application("services", groups=[group], http=http, env_file=None)


class FakeClient:
    """Answers every call with what it was asked, so a test sees the handler reached it."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def call(self, code: str, params: Any = None, **options: Any) -> Awaitable[Any]:
        self.calls.append(code)
        return self._answer({"faked": code})

    def call_envelope(self, code: str, params: Any = None, **options: Any) -> Awaitable[Envelope]:
        self.calls.append(code)
        return self._answer({"code": 200, "status": "Success", "result": {"faked": code}})

    async def _answer(self, value: Any) -> Any:
        return value

    async def start(self) -> FakeClient:
        return self


async def test_overriding_the_client_changes_ctx_client() -> None:
    shop = Group("shop")

    @shop.command("buy")
    async def buy(params: Any, ctx: Context) -> Any:
        return await ctx.client.call("stock/reserve", {"sku": "a"})

    fake = FakeClient()
    app = _app(shop)
    async with TestApp(app, overrides={"client": fake}) as running:
        assert await running.result("shop/buy") == {"faked": "stock/reserve"}
        assert app.client is fake  # type: ignore[comparison-overlap]
    assert fake.calls == ["stock/reserve"]
    assert app.client is not fake  # type: ignore[comparison-overlap]  # restored after the test


class FakeTelemetry:
    """A telemetry service whose trace slot marks every call."""

    def trace_stage(self) -> Middleware:
        async def traced(ctx: Context, params: Any, call_next: CallNext) -> Response:
            ctx.state["traced_by"] = "fake"
            return await call_next(ctx, params)

        return traced

    def metrics_stage(self) -> None:
        return None

    def client_stages(self) -> list[Any]:
        return []


async def test_overriding_telemetry_changes_the_stages_a_handler_runs_in() -> None:
    shop = Group("shop")

    @shop.command("buy")
    async def buy(params: Any, ctx: Context) -> Any:
        return {"traced_by": ctx.state.get("traced_by")}

    async with TestApp(_app(shop), overrides={"telemetry": FakeTelemetry()}) as running:
        assert await running.result("shop/buy") == {"traced_by": "fake"}
    async with TestApp(_app(shop)) as running:
        assert await running.result("shop/buy") == {"traced_by": None}


class RecordingBus(MemoryEventBus):
    name = "events"
    seen: list[str]

    async def publish(self, event: Event) -> None:
        self.seen.append(event.name)
        await super().publish(event)


async def test_overriding_the_event_bus_changes_where_ctx_emit_publishes() -> None:
    shop = Group("shop")

    @shop.command("buy")
    async def buy(params: Any, ctx: Context) -> None:
        await ctx.emit("shop.sold", {"sku": "a"})

    RecordingBus.seen = []
    async with TestApp(_app(shop), overrides={"events": RecordingBus}) as running:
        await running.call("shop/buy")
        await running.wait_event("shop.sold")
    assert RecordingBus.seen == ["shop.sold"]


class RecordingQueue(MemoryJobQueue):
    queued: list[str]

    async def enqueue(self, code: str, params: Mapping[str, Any] | None = None, **options: Any) -> str:
        self.queued.append(code)
        return "job-from-the-fake"


async def test_overriding_the_job_queue_changes_where_ctx_enqueue_stores() -> None:
    shop = Group("shop")

    @shop.command("buy")
    async def buy(params: Any, ctx: Context) -> str:
        return await ctx.enqueue("shop/ship", {"sku": "a"})

    @shop.command("ship")
    async def ship(params: Any, ctx: Context) -> None:
        return None

    RecordingQueue.queued = []
    async with TestApp(_app(shop), overrides={"jobs": RecordingQueue}) as running:
        assert await running.result("shop/buy") == "job-from-the-fake"
    assert RecordingQueue.queued == ["shop/ship"]


class FakeGateway(Service):
    name = "gateway"


async def test_overriding_the_gateway_changes_what_handlers_get() -> None:
    shop = Group("shop")

    @shop.command("which")
    async def which(params: Any, ctx: Context) -> str:
        return type(await ctx.service("gateway")).__name__

    app = _app(shop)
    app.proxy("game", ["load"], transport="http://127.0.0.1:9")  # a gateway nobody will reach
    async with TestApp(app, overrides={"gateway": FakeGateway}) as running:
        assert await running.result("shop/which") == "FakeGateway"
        assert app.resolvers == []  # the real gateway's discovery is not running


class FakeAdapter(Adapter):
    name = "http"
    served: list[str]

    async def serve(self, app: Application) -> None:
        self.served.append(app.name)


async def test_overriding_the_http_adapter_changes_what_is_served_and_what_handlers_get() -> None:
    shop = Group("shop")

    @shop.command("which")
    async def which(params: Any, ctx: Context) -> str:
        return type(await ctx.service("http")).__name__

    FakeAdapter.served = []
    app = _app(shop, http=True)
    async with TestApp(app, overrides={"http": FakeAdapter}, http=True) as running:
        assert await running.result("shop/which") == "FakeAdapter"
        assert [type(adapter).__name__ for adapter in app.adapters()] == ["MemoryJobQueue", "FakeAdapter"]
    assert FakeAdapter.served == ["services"]


# -- typed access ----------------------------------------------------------------------------


class NoteStore(Service):
    name = "notes"

    def __init__(self, config: Any = None, **deps: Any) -> None:
        super().__init__(config, **deps)
        self.notes: list[str] = []


class Stamp(Service):
    name = "stamp"
    scope = "request"


async def test_a_service_is_asked_for_by_class_as_well_as_by_name() -> None:
    notes = Group("notes")

    @notes.command("add")
    async def add(params: Any, ctx: Context) -> int:
        store = await ctx.service(NoteStore)
        assert_type(store, NoteStore)
        store.notes.append(params["text"])
        assert await ctx.service("notes") is store
        first, second = await ctx.service(Stamp), await ctx.service(Stamp)
        assert first is second  # request-scoped: one per call, by class as by name
        return len(store.notes)

    app = _app(notes)
    app.add_service(NoteStore)
    app.add_service(Stamp)
    async with TestApp(app) as running:
        assert await running.result("notes/add", {"text": "a"}) == 1
        assert await running.result("notes/add", {"text": "b"}) == 2


async def test_asking_by_class_for_no_service_or_for_several_names_them() -> None:
    probe = Group("probe")

    @probe.command("ask")
    async def ask(params: Any, ctx: Context) -> str:
        try:
            await ctx.service(NoteStore if params["what"] == "notes" else dict)
        except DependencyError as error:
            return str(error)
        return "found"

    app = _app(probe)
    async with TestApp(app) as running:
        missing = await running.result("probe/ask", {"what": "notes"})
    assert "no service is a NoteStore" in missing
    app.add_service(NoteStore)
    app.add_service(NoteStore, name="archive")
    async with TestApp(app) as running:
        several = await running.result("probe/ask", {"what": "notes"})
    assert "['notes', 'archive']" in several


async def test_ctx_client_call_envelope_answers_errors_without_raising() -> None:
    shop = Group("shop")

    @shop.command("missing")
    async def missing(params: Any, ctx: Context) -> None:
        raise NotFound("no such item", details={"sku": params.get("sku")})

    @shop.command("ask")
    async def ask(params: Any, ctx: Context) -> dict[str, Any]:
        client = ctx.client
        assert_type(client, Caller)
        envelope = await client.call_envelope("shop/missing", {"sku": "z"})
        assert_type(envelope, Envelope)
        return dict(envelope)

    async with TestApp(_app(shop)) as running:
        envelope = await running.result("shop/ask")
    assert envelope["code"] == 404
    assert envelope["status"] == "NotFound"
    assert envelope["error"]["details"] == {"sku": "z"}


async def test_ctx_client_call_and_the_attribute_form_reach_the_same_command() -> None:
    shop = Group("shop")

    @shop.command("echo")
    async def echo(params: Any, ctx: Context) -> Any:
        return params

    @shop.command("both")
    async def both(params: Any, ctx: Context) -> list[Any]:
        return [await ctx.client.call("shop/echo", {"n": 1}), await ctx.client.shop.echo({"n": 2})]

    @shop.command("failing")
    async def failing(params: Any, ctx: Context) -> str:
        try:
            await ctx.client.call("shop/nothing")
        except BetrueError as error:
            return error.status
        return "no error"

    async with TestApp(_app(shop)) as running:
        assert await running.result("shop/both") == [{"n": 1}, {"n": 2}]
        assert await running.result("shop/failing") == "NotFound"


async def test_ctx_connection_is_none_for_a_call_without_a_connection() -> None:
    shop = Group("shop")

    @shop.command("conn")
    async def conn(params: Any, ctx: Context) -> bool:
        return ctx.connection is None

    async with TestApp(_app(shop)) as running:
        assert await running.result("shop/conn") is True


def test_a_private_attribute_of_the_client_is_no_command_path() -> None:
    app = Application("paths", http=False, env_file=None)
    with pytest.raises(AttributeError):
        _ = app.client._nothing
