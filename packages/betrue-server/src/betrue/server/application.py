"""The Application: services, commands and adapters, with one entry every adapter uses: ``handle``."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from loguru import logger

from betrue.server.adapters.base import Adapter
from betrue.server.appconfig import AppConfig
from betrue.server.builtins import builtin_group
from betrue.server.client import Client
from betrue.server.commands import Command, CommandClass, Group, Subscriber
from betrue.server.configs import ConfigLoader
from betrue.server.context import Context, Identity, trace_id_from
from betrue.server.deadlines import deadline_from_meta, enforce_deadline
from betrue.server.di import ServiceContainer, ServiceSpec
from betrue.server.errors import BetrueError, NotFound, ServiceUnavailable, ValidationError
from betrue.server.events import Event, EventBus, MemoryEventBus
from betrue.server.jobs import JobQueue, MemoryJobQueue
from betrue.server.logging import log_rejected
from betrue.server.pipeline import compose, error_boundary, handler_stage, validation_stages
from betrue.server.response import Response
from betrue.server.routing import ClientConfig
from betrue.server.telemetry import Telemetry, TelemetryConfig
from betrue.server.transports.base import Transport
from betrue.server.types import CallNext, Middleware, Scope

if TYPE_CHECKING:
    from betrue.server.gateway import Gateway

__all__ = ["Application"]

_LOG_KEYS = {"level": "log_level", "pretty": "log_pretty", "calls": "log_calls"}


class _AppLogger:
    """Service ``logger``: loguru's logger bound to the app (``deps=("logger",)``), as @be-true's LoggerService.

    A holder, not the logger itself: the container calls ``start``/``stop``, which loguru's logger also has.
    """

    def __init__(self, app: str) -> None:
        self.app = app

    async def start(self) -> Any:
        return logger.bind(app=self.app)

    async def stop(self) -> None:
        return None


def _log_settings(log: Mapping[str, Any] | None) -> dict[str, Any]:
    """``Application(log={"level": "DEBUG"})`` as the app config's defaults; ``LOG_LEVEL`` and the others still win."""
    unknown = sorted(set(log or {}) - set(_LOG_KEYS))
    if unknown:
        raise ValueError(f"Application(log=...): unknown keys {unknown}; known: {sorted(_LOG_KEYS)}")
    return {_LOG_KEYS[key]: value for key, value in (log or {}).items()}


class Application:
    """An app: services (DI), commands, adapters; runs as one process or as one of many.

    Example:
        >>> from betrue.server import Application, Group
        >>> chat = Group("chat")
        >>> @chat.command("echo", input={"type": "object"})
        ... async def echo(params, ctx):
        ...     return params
        >>> app = Application("demo", groups=[chat])
        >>> # await app.start(); (await app.handle("chat/echo", {"a": 1})).result == {"a": 1}
    """

    def __init__(
        self,
        name: str = "app",
        *,
        groups: Sequence[Group] = (),
        middlewares: Sequence[Middleware] = (),
        http: bool = True,
        environ: Mapping[str, str] | None = None,
        env_file: str | None = ".env",
        log: Mapping[str, Any] | None = None,
    ) -> None:
        self.name = name
        self.container = ServiceContainer()
        self.loader = ConfigLoader(environ=environ, env_file=env_file)
        self.middlewares: list[Middleware] = list(middlewares)
        self.groups: dict[str, Group] = {}
        self.commands: dict[str, Command] = {}
        self.subscribers: list[Subscriber] = []
        self.stages: list[Middleware] = []
        """Built-in stages outside the user middlewares (see betrue.server.pipeline); filled at start."""
        from betrue.server.auth.stage import authorize_stage  # the rule first: an upload is read only once allowed
        from betrue.server.streams.spec import stream_stage

        self.stage_factories: list[Callable[[Application, Command], Middleware | None]] = [
            authorize_stage,
            stream_stage,
        ]
        """Per-command stages other parts plug in (auth, metrics, fault tolerance), in order."""
        self.client = Client(self)
        self.telemetry = Telemetry(self)
        """This app's tracer, meter and instruments (service ``telemetry``; see betrue.server.telemetry)."""
        self.gateway: Gateway | None = None
        """Set by ``proxy``: serves other apps' commands (service ``gateway``)."""
        self.resolvers: list[Callable[[str], Awaitable[bool]]] = []
        """Asked about a code no command has (the gateway's discovery); True once it is registered."""
        self.started = False
        self._pipelines: dict[str, CallNext] = {}
        self._inflight = 0
        self._idle = asyncio.Event()
        self._accepting = False
        self._subscriptions: list[Any] = []
        self.config: AppConfig = AppConfig()
        self.add_service(
            AppConfig, name="app", config_class=AppConfig, config=_log_settings(log), factory=lambda config: config
        )
        self.add_service(_AppLogger, name="logger", factory=lambda: _AppLogger(name))
        self.add_service(MemoryEventBus, name="events")
        self.add_service(MemoryJobQueue, name="jobs")
        if http:
            from betrue.server.adapters.cors import Cors
            from betrue.server.adapters.http import HttpAdapter

            self.add_service(HttpAdapter, name="http")
            self.add_service(Cors, name="cors")
        self.add_service(
            self.telemetry,
            name="telemetry",
            config_class=TelemetryConfig,
            factory=self.telemetry.configure,
            deps=("http",) if http else (),
        )
        # The bound method is the target too: the client answers any attribute (``client.game``), so DI must
        # not read service attributes (scope, deps) from the client itself.
        self.add_service(
            self.client.configure,
            name="client",
            config_class=ClientConfig,
            factory=self.client.configure,
            deps=("telemetry",),
        )
        self.include(builtin_group())
        for group in groups:
            self.include(group)

    # -- definition -------------------------------------------------------------------------

    def add_service(
        self,
        target: Any,
        *,
        name: str | None = None,
        deps: Sequence[str] | Mapping[str, str] | None = None,
        config: Mapping[str, Any] | None = None,
        config_class: Any = None,
        context: str | None = None,
        description: str | None = None,
        scope: Scope | None = None,
        factory: Callable[..., Any] | None = None,
    ) -> ServiceSpec:
        """Add a service (a class, a factory or a value) under a name; see ``betrue.server.di``.

        ``config`` overrides config values, ``context`` prefixes its env names (``GAME_HTTP_PORT``).
        """
        spec = ServiceSpec.build(
            target,
            name=name,
            deps=deps,
            config=config,
            config_class=config_class,
            context=context,
            description=description,
            scope=scope,
            factory=factory,
        )
        self.container.add(spec)
        return spec

    def replace_service(self, name: str, target: Any, **options: Any) -> ServiceSpec:
        """Swap the service ``name`` for another implementation (before start)."""
        spec = ServiceSpec.build(target, name=name, **options)
        self.container.replace(spec)
        return spec

    def include(self, group: Group) -> Group:
        """Add a group's commands and subscribers."""
        self.groups[group.name] = group
        for command in group.commands:
            self.add_command(command)
        self.subscribers.extend(group.subscribers)
        return group

    def add_command(self, command: Command | type[CommandClass]) -> Command:
        if isinstance(command, type):
            command = command.as_command()
        if command.code in self.commands:
            raise ValueError(f"duplicate command {command.code!r}")
        self.commands[command.code] = command
        if self.started:
            self._pipelines[command.code] = self._build_pipeline(command)
        return command

    def remove_command(self, code: str) -> None:
        self.commands.pop(code, None)
        self._pipelines.pop(code, None)

    def use(self, middleware: Middleware) -> Middleware:
        """Add an application-wide middleware (runs for every command, before group middlewares)."""
        self.middlewares.append(middleware)
        return middleware

    def proxy(
        self,
        group: str = "*",
        commands: Sequence[str] | None = None,
        *,
        transport: str | Transport | None = None,
        rename: Mapping[str, str] | None = None,
    ) -> Gateway:
        """Serve another app's commands as this app's own (a gateway); see ``betrue.server.gateway``.

        ``proxy("game", ["load"], transport="http://127.0.0.1:3001")`` serves ``game/load``;
        without ``commands`` every command of the group (``*``: every group) is discovered.
        ``rename={"game/load": "load"}`` publishes an upstream command under another code.
        """
        from betrue.server.gateway import proxy

        return proxy(self, group, commands, transport=transport, rename=rename)

    def on(self, event: str) -> Callable[[Any], Any]:
        """Subscribe ``async def handler(data, ctx)`` to an event, outside any group."""
        group = Group("_app_events")

        def register(handler: Any) -> Any:
            group.on(event)(handler)
            self.subscribers.extend(group.subscribers)
            group.subscribers.clear()
            return handler

        return register

    # -- lifecycle --------------------------------------------------------------------------

    @property
    def events(self) -> EventBus:
        bus: EventBus = self.container.get("events")
        return bus

    def service(self, name: str) -> Any:
        """A started singleton service."""
        return self.container.get(name)

    def adapters(self) -> list[Adapter]:
        return [value for name in self.container.specs if isinstance(value := self._maybe(name), Adapter)]

    @property
    def accepting(self) -> bool:
        """True while the app takes new calls: after start, until stop begins (``/_app/ready`` reads it)."""
        return self._accepting

    def _maybe(self, name: str) -> Any:
        return self.container.get(name) if self.container.has(name) else None

    async def start(self, *, serve: bool = True) -> None:
        """Validate every config, start services in dependency order, build pipelines, then serve.

        Raises ``ConfigError`` listing every config error of every service, ``DependencyError``
        for a cycle/missing/duplicate service, ``SchemaError`` naming a command with a bad schema.
        """
        order = self.container.plan()
        configs = self.loader.load_all(self.container.specs.values())
        self.config = configs["app"]  # type: ignore[assignment]
        from betrue.server.logging import setup_logging

        setup_logging(self.config)
        await self.container.start(configs)
        try:
            self.stages = self._builtin_stages()
            self._pipelines = {code: self._build_pipeline(command) for code, command in self.commands.items()}
            for subscriber in self.subscribers:
                self._subscriptions.append(self.events.subscribe(subscriber.event, self._subscriber_call(subscriber)))
            self.started = True
            self._accepting = True
            if serve:
                for adapter in self.adapters():
                    await adapter.serve(self)
        except BaseException:
            self.started = self._accepting = False
            for subscription in self._subscriptions:
                subscription.unsubscribe()
            self._subscriptions.clear()
            for adapter in reversed(self.adapters()):
                await adapter.close()
            await self.container.stop()
            raise
        logger.bind(app=self.name).info("{} started: {} services ({})", self.name, len(order), ", ".join(order))

    async def stop(self, timeout: float | None = None) -> None:
        """Stop accepting, let in-flight calls finish (up to ``timeout``), stop services in reverse."""
        if not self.started:
            return
        self._accepting = False
        adapters = self.adapters()
        for adapter in adapters:
            await _logged(adapter.close_listeners(), f"closing the listeners of {type(adapter).__name__}")
        grace = self.config.shutdown_timeout if timeout is None else timeout
        if self._inflight:
            logger.info("waiting up to {}s for {} calls in flight", grace, self._inflight)
            self._idle.clear()
            try:
                await asyncio.wait_for(self._idle.wait(), grace)
            except TimeoutError:
                logger.warning("{} calls still running after {}s of grace; stopping anyway", self._inflight, grace)
        for adapter in reversed(adapters):  # routes added by a later adapter (ws on http) close first
            await _logged(adapter.close(), f"closing {type(adapter).__name__}")
        for subscription in self._subscriptions:
            subscription.unsubscribe()
        self._subscriptions.clear()
        self.started = False
        for name, error in await self.container.stop():
            logger.opt(exception=error).error("service {} failed to stop", name)
        logger.bind(app=self.name).info("{} stopped", self.name)

    def run(self) -> None:
        """Start, serve until SIGINT/SIGTERM, then stop gracefully. Blocks.

        A second signal while stopping ends the wait for calls in flight. Raises what ``start`` raises.
        """
        asyncio.run(self.serve_forever())

    async def serve_forever(self) -> None:
        """``run`` inside a running event loop: start, wait for SIGINT/SIGTERM, stop gracefully."""
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()

        def on_signal(sig: signal.Signals) -> None:
            if stop.is_set():
                logger.warning("{} again: not waiting for calls in flight any longer", sig.name)
                self._idle.set()
            else:
                logger.info("{} received: stopping {}", sig.name, self.name)
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

    # -- calls ------------------------------------------------------------------------------

    async def handle(
        self,
        code: str,
        params: Any = None,
        meta: Mapping[str, str] | None = None,
        *,
        adapter: str = "local",
        identity: Identity | None = None,
        connection: Any = None,
        trace_id: str | None = None,
        deadline: float | None = None,
    ) -> Response:
        """Run one command through its pipeline; never raises, always answers a Response.

        The trace id is ``trace_id``, else the caller's (``x-trace-id`` or ``traceparent`` in ``meta``),
        else a new one; the Response carries it in ``response.trace_id``.
        """
        meta = meta or {}
        trace_id = trace_id or trace_id_from(meta)
        if deadline is None:
            deadline = deadline_from_meta(meta)
        pipeline = self._pipelines.get(code)
        if pipeline is None and self.resolvers and self._accepting:
            try:
                pipeline = await self._resolve(code)
            except BetrueError as unavailable:
                log_rejected(code, trace_id, unavailable, adapter=adapter)
                rejected = Response.from_error(unavailable)
                rejected.trace_id = trace_id
                return rejected
        if pipeline is None or not self._accepting or not (type(params) is dict or isinstance(params, Mapping | None)):
            if pipeline is None:
                error: BetrueError = NotFound("Unknown command")
            elif not self._accepting:
                error = ServiceUnavailable("The application is shutting down")
            else:
                error = ValidationError("params must be a JSON object", details={"reason": "not_an_object"})
            log_rejected(code, trace_id, error, adapter=adapter)
            rejected = Response.from_error(error)
            rejected.trace_id = trace_id
            return rejected
        ctx = Context(
            self,
            command=self.commands[code],
            trace_id=trace_id,
            meta=meta,
            adapter=adapter,
            identity=identity,
            connection=connection,
            deadline=deadline,
        )
        self._inflight += 1
        try:
            response = await pipeline(ctx, {} if params is None else params)
        finally:
            self._inflight -= 1
            if self._inflight == 0 and not self._accepting:
                self._idle.set()  # stop() is waiting for the calls in flight
            if ctx._scope is not None:  # most calls use no request-scoped service: no scope was made
                await ctx._scope.close()
        response.trace_id = ctx.trace_id  # the tracing stage may have replaced a generated id with its span's
        return response

    async def _resolve(self, code: str) -> CallNext | None:
        for resolver in self.resolvers:
            if await resolver(code):
                return self._pipelines.get(code)
        return None

    async def emit(
        self, event: str, data: Any = None, *, to: Mapping[str, Any] | None = None, ctx: Context | None = None
    ) -> None:
        """Publish an event on the EventBus (``ctx.emit`` inside a call)."""
        meta: dict[str, str] = {}
        if ctx is not None:
            meta["x-trace-id"] = ctx.trace_id
            if ctx.identity is not None:
                meta["x-subject"] = ctx.identity.subject
        await self.events.publish(Event(event, data, to, meta))

    async def enqueue(
        self,
        code: str,
        params: Mapping[str, Any] | None = None,
        *,
        delay: float = 0.0,
        key: str | None = None,
        retries: int | None = None,
        ctx: Context | None = None,
    ) -> str:
        """Run command ``code`` later on a worker (``ctx.enqueue`` inside a call); returns the job id.

        ``key`` de-duplicates: while a job with the same key is pending, no second one is stored.
        """
        if code not in self.commands:
            raise NotFound(f"cannot enqueue unknown command {code!r}")
        meta = {"x-trace-id": ctx.trace_id} if ctx is not None else {}
        queue: JobQueue = self.container.get("jobs")
        return await queue.enqueue(code, params, delay=delay, key=key, retries=retries, meta=meta)

    # -- internals --------------------------------------------------------------------------

    def _builtin_stages(self) -> list[Middleware]:
        from betrue.server.logging import log_call

        return [log_call, error_boundary, *self.telemetry.server_stages(), enforce_deadline]

    def _build_pipeline(self, command: Command) -> CallNext:
        group = self.groups.get(command.group)
        plugged = [stage for factory in self.stage_factories if (stage := factory(self, command)) is not None]
        stages = [
            *self.stages,
            *plugged,
            *self.middlewares,
            *(group.middlewares if group is not None else ()),
            *command.middlewares,
            *validation_stages(command, self.config.output_validation, self.config.validation_engine),
        ]
        return compose(stages, handler_stage(command))

    def _subscriber_call(self, subscriber: Subscriber) -> Callable[[Event], Any]:
        async def deliver(event: Event) -> None:
            trace_id = trace_id_from(event.meta)
            scope = self.container.request_scope()
            ctx = Context(
                self,
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
                name = getattr(subscriber.handler, "__qualname__", repr(subscriber.handler))
                ctx.logger.opt(exception=True).error("subscriber {} of event {} failed", name, event.name)
            finally:
                await scope.close()

        return deliver


async def _logged(step: Awaitable[None], what: str) -> None:
    """Run one shutdown step; a failure is logged and the shutdown goes on."""
    try:
        await step
    except Exception:
        logger.opt(exception=True).error("{} failed", what)
