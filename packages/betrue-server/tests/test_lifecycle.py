"""The lifecycle: start in dependency order, roll back a failed start, drain, stop in reverse, deliver events."""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

import pytest

from betrue.server import Adapter, Application, Context, Event, Group, Service
from betrue.server.lifecycle import Lifecycle
from betrue.server.testing import TestApp


class Journal:
    """What the services and adapters of one test did, in order."""

    entries: ClassVar[list[str]] = []


class Store(Service):
    name = "store"

    async def start(self) -> None:
        Journal.entries.append("store start")

    async def stop(self) -> None:
        Journal.entries.append("store stop")


class Cache(Service):
    name = "cache"
    deps = ("store",)

    async def start(self) -> None:
        Journal.entries.append("cache start")

    async def stop(self) -> None:
        Journal.entries.append("cache stop")


class Broken(Service):
    name = "broken"
    deps = ("cache",)

    async def start(self) -> None:
        raise RuntimeError("broken on purpose")


class Listener(Adapter):
    name = "listener"
    deps = ("cache",)

    async def serve(self, app: Application) -> None:
        Journal.entries.append("listener serve")

    async def close_listeners(self) -> None:
        Journal.entries.append("listener close_listeners")

    async def close(self) -> None:
        Journal.entries.append("listener close")


class FailingServe(Listener):
    name = "failing_serve"

    async def serve(self, app: Application) -> None:
        raise OSError("address in use")


def _app(*services: type[Service]) -> Application:
    app = Application("cycle", http=False, env_file=None)
    for service in services:
        app.add_service(service)
    Journal.entries = []
    return app


def test_the_app_has_one_lifecycle() -> None:
    app = _app()
    assert isinstance(app.lifecycle, Lifecycle)
    assert app.lifecycle.started is False
    assert app.started is False


async def test_services_start_in_dependency_order_and_stop_in_reverse() -> None:
    app = _app(Cache, Store, Listener)
    await app.start()
    assert app.started
    await app.stop()
    assert Journal.entries == [
        "store start",
        "cache start",
        "listener serve",
        "listener close_listeners",
        "listener close",
        "cache stop",
        "store stop",
    ]
    assert not app.started


async def test_a_service_that_fails_to_start_stops_the_ones_already_started() -> None:
    app = _app(Store, Cache, Broken)
    with pytest.raises(RuntimeError, match="broken on purpose"):
        await app.start()
    assert Journal.entries == ["store start", "cache start", "cache stop", "store stop"]
    assert not app.started


async def test_an_adapter_that_fails_to_serve_closes_the_adapters_and_stops_the_services() -> None:
    app = _app(Store, Cache, FailingServe)
    with pytest.raises(OSError, match="address in use"):
        await app.start()
    assert Journal.entries == ["store start", "cache start", "listener close", "cache stop", "store stop"]
    assert not app.started
    response = await app.handle("_app/health", {})
    assert response.error is not None  # nothing is served after a failed start


async def test_start_without_serving_leaves_the_adapters_quiet() -> None:
    app = _app(Store, Cache, Listener)
    await app.start(serve=False)
    assert "listener serve" not in Journal.entries
    assert [type(adapter).__name__ for adapter in app.adapters()] == ["MemoryJobQueue", "Listener"]
    await app.stop()


async def test_stop_twice_and_stop_before_start_do_nothing() -> None:
    app = _app(Store)
    await app.stop()
    await app.start(serve=False)
    await app.stop()
    await app.stop()
    assert Journal.entries == ["store start", "store stop"]


async def test_an_app_starts_again_after_it_stopped() -> None:
    shop = Group("shop")

    @shop.command("ping")
    async def ping(params: Any, ctx: Context) -> str:
        return "pong"

    app = Application("again", groups=[shop], http=False, env_file=None)
    for _ in range(2):
        async with TestApp(app) as running:
            assert await running.result("shop/ping") == "pong"


async def test_a_subscriber_gets_the_event_with_its_trace_id_and_a_failing_one_harms_nobody() -> None:
    shop = Group("shop")
    got: list[tuple[str, Any]] = []
    done = asyncio.Event()

    @shop.command("sell")
    async def sell(params: Any, ctx: Context) -> None:
        await ctx.emit("shop.sold", {"sku": params["sku"]})

    @shop.on("shop.sold")
    async def broken(data: Any, ctx: Context) -> None:
        raise RuntimeError("subscriber bug")

    @shop.on("shop.sold")
    async def record(data: Any, ctx: Context) -> None:
        got.append((ctx.trace_id, data))
        assert ctx.adapter == "event"
        done.set()

    app = Application("events", groups=[shop], http=False, env_file=None)
    async with TestApp(app) as running:
        response = await running.call("shop/sell", {"sku": "a"}, meta={"x-trace-id": "sale-1"})
        await asyncio.wait_for(done.wait(), 5)
    assert response["status"] == "Success"
    assert got == [("sale-1", {"sku": "a"})]


async def test_subscribers_stop_receiving_after_stop() -> None:
    got: list[Any] = []
    app = Application("quiet", http=False, env_file=None)

    @app.on("tick")
    async def tick(data: Any, ctx: Context) -> None:
        got.append(data)

    async with TestApp(app):
        await app.emit("tick", 1)
        await asyncio.sleep(0.05)
        bus = app.events
    await bus.publish(Event("tick", 2))
    await asyncio.sleep(0.05)
    assert got == [1]


class Clumsy(Adapter):
    name = "clumsy"

    async def close_listeners(self) -> None:
        raise OSError("listener already gone")

    async def close(self) -> None:
        raise OSError("socket already closed")


class Second(Listener):
    name = "second"
    deps = ("listener",)

    async def close(self) -> None:
        Journal.entries.append("second close")


async def test_a_failing_adapter_close_is_logged_and_the_shutdown_goes_on(capsys: pytest.CaptureFixture[str]) -> None:
    app = _app(Store, Cache, Clumsy)
    await app.start(serve=False)
    await app.stop()
    assert Journal.entries[-2:] == ["cache stop", "store stop"]
    logged = capsys.readouterr().err
    assert "closing the listeners of Clumsy failed" in logged
    assert "closing Clumsy failed" in logged


async def test_adapters_added_later_close_first() -> None:
    app = _app(Store, Cache, Listener, Second)
    await app.start()
    await app.stop()
    closes = [entry for entry in Journal.entries if entry.endswith(" close")]
    assert closes == ["second close", "listener close"]


class FailingStop(Service):
    name = "failing_stop"

    async def stop(self) -> None:
        raise RuntimeError("stop failed")


async def test_a_service_that_fails_to_stop_does_not_keep_the_others_running(
    capsys: pytest.CaptureFixture[str],
) -> None:
    app = _app(Store, FailingStop)
    await app.start(serve=False)
    await app.stop()
    assert Journal.entries == ["store start", "store stop"]
    assert "service failing_stop failed to stop" in capsys.readouterr().err
