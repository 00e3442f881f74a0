"""The lifecycle of an application: configs checked, services started in order, adapters served, and back.

Start: every config validated together, services started in dependency order, pipelines built,
subscribers subscribed, adapters serving. Stop: listeners closed, calls in flight given their grace,
adapters closed (last added first), services stopped in reverse order.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any

from loguru import logger

from betrue.server.adapters.base import Adapter
from betrue.server.context import Context, trace_id_from
from betrue.server.events import Event, EventBus
from betrue.server.observability._logging import setup_logging

if TYPE_CHECKING:
    from betrue.server.application import Application
    from betrue.server.commands import Subscriber

__all__ = ["Lifecycle"]


class Lifecycle:
    """Starts and stops one application (``app.lifecycle``); ``Application.start/stop/run`` delegate here.

    Example:
        >>> from betrue.server import Application
        >>> Application("demo", http=False).lifecycle.started
        False
    """

    def __init__(self, app: Application) -> None:
        self.app = app
        self._subscriptions: list[Any] = []

    @property
    def started(self) -> bool:
        return self.app.router.started

    def adapters(self) -> list[Adapter]:
        """The started services that are adapters, in start order."""
        container = self.app.container
        return [
            value
            for name in container.specs
            if container.has(name) and isinstance(value := container.get(name), Adapter)
        ]

    async def start(self, *, serve: bool = True) -> None:
        """Validate every config, start services in dependency order, build pipelines, then serve.

        Raises ``ConfigError`` listing every config error of every service, ``DependencyError``
        for a cycle/missing/duplicate service, ``SchemaError`` naming a command with a bad schema.
        """
        app = self.app
        order = app.container.plan()
        configs = app.loader.load_all(app.container.specs.values())
        app.config = configs["app"]  # type: ignore[assignment]
        setup_logging(app.config)
        await app.container.start(configs)
        try:
            app.router.build(app.config.output_validation, app.config.validation_engine)
            bus: EventBus = app.container.get("events")
            for subscriber in app.router.subscribers:
                self._subscriptions.append(bus.subscribe(subscriber.event, self._deliver_to(subscriber)))
            if serve:
                for adapter in self.adapters():
                    await adapter.serve(app)
        except BaseException:
            app.router.stopped()
            self._unsubscribe()
            for adapter in reversed(self.adapters()):
                await adapter.close()
            await app.container.stop()
            raise
        logger.bind(app=app.name).info("{} started: {} services ({})", app.name, len(order), ", ".join(order))

    async def stop(self, timeout: float | None = None) -> None:
        """Stop accepting, let in-flight calls finish (up to ``timeout``), stop services in reverse."""
        app, router = self.app, self.app.router
        if not router.started:
            return
        router.stop_accepting()
        grace = app.config.shutdown_timeout if timeout is None else timeout
        loop = asyncio.get_running_loop()
        ends = loop.time() + grace  # one grace for the whole stop, listeners' drain included
        adapters = self.adapters()
        for adapter in adapters:
            await _logged(adapter.close_listeners(), f"closing the listeners of {type(adapter).__name__}")
        if router.inflight:
            left = max(0.0, ends - loop.time())
            logger.info("waiting up to {}s for {} calls in flight", round(left, 3), router.inflight)
            if not await router.drained(left):
                cancelled = await router.answer_overdue()
                logger.warning("{} calls still running after {}s of grace; answered 503", cancelled, grace)
        for adapter in reversed(adapters):  # routes added by a later adapter (ws on http) close first
            await _logged(adapter.close(), f"closing {type(adapter).__name__}")
        self._unsubscribe()
        router.stopped()
        for name, error in await app.container.stop():
            logger.opt(exception=error).error("service {} failed to stop", name)
        logger.bind(app=app.name).info("{} stopped", app.name)

    async def serve_forever(self) -> None:
        """Start, wait for SIGINT/SIGTERM, stop gracefully; a second signal ends the wait for calls in flight."""
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        name = self.app.name

        def on_signal(sig: signal.Signals) -> None:
            if stop.is_set():
                logger.warning("{} again: not waiting for calls in flight any longer", sig.name)
                self.app.router.abandon_drain()
            else:
                logger.info("{} received: stopping {}", sig.name, name)
                stop.set()

        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, on_signal, sig)
        try:
            await self.start()
            await stop.wait()
        finally:
            try:
                await self.stop()
            finally:
                for sig in (signal.SIGINT, signal.SIGTERM):
                    loop.remove_signal_handler(sig)

    def _unsubscribe(self) -> None:
        for subscription in self._subscriptions:
            subscription.unsubscribe()
        self._subscriptions.clear()

    def _deliver_to(self, subscriber: Subscriber) -> Any:
        app = self.app

        async def deliver(event: Event) -> None:
            trace_id = trace_id_from(event.meta)
            scope = app.container.request_scope()
            ctx = Context(
                app,
                command=None,
                trace_id=trace_id,
                meta=event.meta,
                adapter="event",
                scope=scope,
                logger=logger.bind(trace_id=trace_id, event=event.name),
            )
            try:
                await subscriber.handler(event.data, ctx)
            except Exception:
                # Logged here, with the trace id, so the bus does not log it again without one.
                handler = getattr(subscriber.handler, "__qualname__", repr(subscriber.handler))
                ctx.logger.opt(exception=True).error("subscriber {} of event {} failed", handler, event.name)
            finally:
                await scope.close()

        return deliver


async def _logged(step: Awaitable[None], what: str) -> None:
    """Run one shutdown step; a failure is logged and the shutdown goes on."""
    try:
        await step
    except Exception:
        logger.opt(exception=True).error("{} failed", what)
