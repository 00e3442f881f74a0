"""The Application: the one façade users touch; it holds services (DI), a router and a lifecycle.

Commands and their pipelines live in the router (``betrue.server.router``), start and stop in the
lifecycle (``betrue.server.lifecycle``); everything a handler reaches (client, telemetry, event bus,
job queue, adapters, gateway) is a service of the container, so a test can swap any of them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from loguru import logger

from betrue.server._builtins import builtin_group
from betrue.server._configloader import ConfigLoader
from betrue.server.adapters.base import Adapter
from betrue.server.appconfig import AppConfig
from betrue.server.auth.stage import authorize_stage
from betrue.server.client._client import Client
from betrue.server.client._config import ClientConfig
from betrue.server.client.transports.base import Transport
from betrue.server.commands import Command, CommandClass, Group
from betrue.server.context import Context
from betrue.server.di import ServiceContainer, ServiceSpec
from betrue.server.events import Event, EventBus, MemoryEventBus
from betrue.server.jobcommands import jobs_group
from betrue.server.jobmemory import MemoryJobQueue
from betrue.server.lifecycle import Lifecycle
from betrue.server.observability._logging import log_call, log_rejected
from betrue.server.observability._telemetry import Telemetry, TelemetryConfig
from betrue.server.router import Router, StageFactory
from betrue.server.streams.spec import stream_stage
from betrue.server.types import Middleware, Scope

if TYPE_CHECKING:
    from betrue.server.gateway._gateway import Gateway

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
        self.router = Router(self, middlewares=middlewares)
        """Commands, their pipelines, ``handle``."""
        self.lifecycle = Lifecycle(self)
        """Start, stop, serve until a signal."""
        router = self.router
        # The router's own tables, shared: reading ``app.commands`` is reading the router's.
        self.groups = router.groups
        self.commands = router.commands
        self.subscribers = router.subscribers
        self.middlewares = router.middlewares
        self.resolvers = router.resolvers
        self.handle = router.handle
        """Run one command through its pipeline (``Router.handle``): what every adapter calls."""
        router.on_rejected = log_rejected
        self.config: AppConfig = AppConfig()
        self._client = Client(self)
        self._telemetry = Telemetry(self)
        self.gateway: Gateway | None = None
        """Set by ``proxy``: serves other apps' commands (service ``gateway``)."""
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
            self._telemetry,
            name="telemetry",
            config_class=TelemetryConfig,
            factory=self._telemetry.configure,
            deps=("http",) if http else (),
        )
        # The bound method is the target too: the client answers any attribute (``client.game``), so DI must
        # not read service attributes (scope, deps) from the client itself.
        self.add_service(
            self._client.configure,
            name="client",
            config_class=ClientConfig,
            factory=self._client.configure,
            deps=("telemetry",),
        )
        router.add_stage("log", _log_stage)
        router.add_stage("trace", _trace_stage)
        router.add_stage("metrics", _metrics_stage)
        router.add_stage("authorize", authorize_stage)  # the rule first: an upload is read only once allowed
        router.add_stage("stream", stream_stage)
        self.include(builtin_group())
        self.include(jobs_group())
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
        """Add a group's commands and subscribers (a code another group already serves fails here)."""
        return self.router.include(group)

    def add_command(self, command: Command | type[CommandClass]) -> Command:
        """Add one command (a ``Command`` or a ``CommandClass``)."""
        return self.router.add_command(command)

    def remove_command(self, code: str) -> None:
        self.router.remove_command(code)

    def use(self, middleware: Middleware) -> Middleware:
        """Add an application-wide middleware (runs for every command, before group middlewares)."""
        return self.router.use(middleware)

    def add_stage(self, slot: str, factory: StageFactory) -> StageFactory:
        """Plug a per-command stage into a slot of the pipeline (see ``betrue.server._pipeline.PIPELINE``)."""
        return self.router.add_stage(slot, factory)

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
        from betrue.server.gateway._gateway import proxy

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

    # -- services ---------------------------------------------------------------------------

    @property
    def client(self) -> Client:
        """Service ``client`` (started), else the app's own before start: routes, policies, middlewares."""
        return self._started_or("client", self._client)  # type: ignore[no-any-return]

    @property
    def telemetry(self) -> Telemetry:
        """Service ``telemetry``: this app's tracer, meter and instruments (see betrue.server.observability)."""
        return self._started_or("telemetry", self._telemetry)  # type: ignore[no-any-return]

    @property
    def events(self) -> EventBus:
        """Service ``events``: the event bus."""
        bus: EventBus = self.container.get("events")
        return bus

    def _started_or(self, name: str, default: Any) -> Any:
        container = self.container
        return container.get(name) if container.has(name) else default

    def service(self, name: str) -> Any:
        """A started singleton service."""
        return self.container.get(name)

    def adapters(self) -> list[Adapter]:
        """The started services that are adapters."""
        return self.lifecycle.adapters()

    # -- lifecycle --------------------------------------------------------------------------

    @property
    def started(self) -> bool:
        return self.router.started

    async def start(self, *, serve: bool = True) -> None:
        """Validate every config, start services in dependency order, build pipelines, then serve.

        Raises ``ConfigError`` listing every config error of every service, ``DependencyError``
        for a cycle/missing/duplicate service, ``SchemaError`` naming a command with a bad schema.
        """
        await self.lifecycle.start(serve=serve)

    async def stop(self, timeout: float | None = None) -> None:
        """Stop accepting, let in-flight calls finish (up to ``timeout``), stop services in reverse."""
        await self.lifecycle.stop(timeout)

    def run(self) -> None:
        """Start, serve until SIGINT/SIGTERM, then stop gracefully. Blocks.

        A second signal while stopping ends the wait for calls in flight. Raises what ``start`` raises.
        """
        import asyncio

        asyncio.run(self.serve_forever())

    async def serve_forever(self) -> None:
        """``run`` inside a running event loop: start, wait for SIGINT/SIGTERM, stop gracefully."""
        await self.lifecycle.serve_forever()

    # -- verbs ------------------------------------------------------------------------------

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
        at: float | None = None,
        key: str | None = None,
        priority: int = 0,
        max_attempts: int | None = None,
        timeout: float | None = None,
        retries: int | None = None,
        ctx: Context | None = None,
    ) -> str:
        """Run command ``code`` later on a worker (``ctx.enqueue`` inside a call); returns the job id.

        ``key`` de-duplicates: while a job with the same key is queued or running, no second one is
        stored. A command another app serves goes to that app's queue by the routing table; see
        ``betrue.server.jobs`` for the other options.
        """
        from betrue.server.jobrouting import enqueue_routed

        return await enqueue_routed(
            self,
            code,
            params,
            ctx=ctx,
            delay=delay,
            at=at,
            key=key,
            priority=priority,
            max_attempts=max_attempts,
            timeout=timeout,
            retries=retries,
        )


def _log_stage(app: Application, command: Command) -> Middleware:
    return log_call


def _trace_stage(app: Application, command: Command) -> Middleware | None:
    stage: Middleware | None = getattr(app.telemetry, "trace_stage", lambda: None)()
    return stage


def _metrics_stage(app: Application, command: Command) -> Middleware | None:
    stage: Middleware | None = getattr(app.telemetry, "metrics_stage", lambda: None)()
    return stage
