"""A backend built only on betrue.server.ext: an event bus, an adapter, a transport and a stage plug in."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any, ClassVar

import pytest

import betrue.server.ext as ext
from betrue.server import Application, Context, Group, NotFound
from betrue.server.ext import (
    PIPELINE,
    PLUGGABLE,
    TIMEOUT_HEADER,
    Adapter,
    Envelope,
    Event,
    EventBus,
    EventCallback,
    Readiness,
    ReportsReadiness,
    StageFactory,
    Subscription,
    Transport,
    deadline_from_meta,
    error_envelope,
    error_for_code,
    name_matches,
    success_envelope,
    timeout_header,
)
from betrue.server.testing import TestApp


class ListBus(EventBus):
    """An event bus that keeps what it publishes and delivers in-process, as a NATS bus would remotely."""

    name = "events"
    published: ClassVar[list[Event]] = []

    def __init__(self, config: Any = None, **deps: Any) -> None:
        self.callbacks: list[tuple[str, EventCallback]] = []

    async def publish(self, event: Event) -> None:
        ListBus.published.append(event)
        for pattern, callback in list(self.callbacks):
            if name_matches(pattern, event.name):
                await callback(event)

    def subscribe(self, pattern: str, callback: EventCallback) -> Subscription:
        entry = (pattern, callback)
        self.callbacks.append(entry)
        return Subscription(pattern, lambda: self.callbacks.remove(entry))

    def readiness(self) -> Readiness:
        return Readiness(True, "in memory")


class Doorbell(Adapter):
    """An adapter that serves one command when rung (what a NATS adapter does per message)."""

    name = "doorbell"
    rung: ClassVar[list[Any]] = []

    async def serve(self, app: Application) -> None:
        self.app = app

    async def ring(self, code: str, params: Any) -> Any:
        response = await self.app.handle(code, params, {"x-trace-id": "bell-1"}, adapter="doorbell")
        return response.envelope()


def _app() -> Application:
    house = Group("house")

    @house.command("open")
    async def open_door(params: Any, ctx: Context) -> dict[str, Any]:
        await ctx.emit("house.opened", {"by": params["by"]})
        return {"adapter": ctx.adapter, "trace_id": ctx.trace_id}

    @house.on("house.opened")
    async def log_opening(data: Any, ctx: Context) -> None:
        Doorbell.rung.append(data)

    return Application("house", groups=[house], http=False, env_file=None)


def test_the_surface_names_resolve_and_are_the_server_s_own() -> None:
    import betrue.server as server

    for name in ext.__all__:
        assert getattr(ext, name) is not None
    for shared in ("Adapter", "Event", "EventBus", "Subscription", "Transport"):
        assert getattr(ext, shared) is getattr(server, shared)
    assert PIPELINE[-1] == "handler"
    assert set(PLUGGABLE) <= set(PIPELINE)


async def test_a_bus_and_an_adapter_built_on_the_surface_serve_an_app() -> None:
    ListBus.published, Doorbell.rung = [], []
    app = _app()
    app.add_service(Doorbell)
    app.replace_service("events", ListBus)
    await app.start()  # serving: every adapter's serve(app) runs
    try:
        envelope = await app.service("doorbell").ring("house/open", {"by": "ann"})
        bus = app.service("events")
        assert isinstance(bus, ReportsReadiness)
        assert bus.readiness() == Readiness(True, "in memory")
    finally:
        await app.stop()
    assert envelope["result"] == {"adapter": "doorbell", "trace_id": "bell-1"}
    assert [event.name for event in ListBus.published] == ["house.opened"]
    assert ListBus.published[0].meta["x-trace-id"] == "bell-1"
    assert Doorbell.rung == [{"by": "ann"}]


class Loopback(Transport):
    """Answers from the surface's envelope builders, as a remote transport's peer would."""

    def __init__(self, target: str) -> None:
        self.target = target

    async def call(self, code: str, params: Any, meta: Mapping[str, str], deadline: float | None) -> Envelope:
        if code.endswith("/missing"):
            return error_envelope(NotFound("no such thing"), meta.get("x-trace-id"))
        return success_envelope({"code": code, "deadline_sent": TIMEOUT_HEADER in meta}, meta.get("x-trace-id"))


async def test_a_transport_built_on_the_surface_answers_results_and_errors() -> None:
    lobby = Group("lobby")

    @lobby.command("ask")
    async def ask(params: Any, ctx: Context) -> Any:
        envelope = await ctx.client.call_envelope("far/missing")
        return {"found": await ctx.client.call("far/thing"), "missing": envelope["status"]}

    app = Application("far", groups=[lobby], http=False, env_file=None)
    app.client.register_transport("loop", Loopback)
    async with TestApp(app, env={"ROUTES": "far=loop://peer"}) as running:
        answer = await running.result("lobby/ask")
    assert answer == {"found": {"code": "far/thing", "deadline_sent": False}, "missing": "NotFound"}


async def test_a_stage_plugged_through_the_surface_runs_in_its_slot() -> None:
    seen: list[str] = []

    def audit(app: Application, command: Any) -> Any:
        async def audited(ctx: Context, params: Any, call_next: Any) -> Any:
            seen.append(f"{ctx.code} by {ctx.adapter}")
            return await call_next(ctx, params)

        return audited

    factory: StageFactory = audit
    app = _app()
    app.add_stage("authorize", factory)
    async with TestApp(app) as running:
        await running.call("house/open", {"by": "bob"})
        await asyncio.sleep(0)
    assert seen == ["house/open by test"]


def test_deadline_helpers_round_trip() -> None:
    deadline = time.time() + 2.0
    header = timeout_header(deadline)
    assert 1900 <= int(header) <= 2000
    back = deadline_from_meta({TIMEOUT_HEADER: header})
    assert back is not None
    assert abs(back - deadline) < 0.2
    assert deadline_from_meta({}) is None


@pytest.mark.parametrize(("code", "status"), [(404, "NotFound"), (409, "Conflict"), (503, "ServiceUnavailable")])
def test_error_for_code_maps_wire_codes_to_the_catalogue(code: int, status: str) -> None:
    assert error_for_code(code).status == status
