"""The chat as a cluster: the same command modules as ``examples.chat.app``, in three kinds of process.

- ``gateway`` — HTTP + WebSocket + the page; forwards the chat's commands over NATS, holds the browsers'
  connections and pushes the events every chat instance publishes (``NatsEventBus``).
- ``service`` — the ``chat`` and ``user`` commands, served on NATS (``NatsAdapter``), any number of them.
- ``worker`` — a chat instance that also runs the jobs (``betrue worker examples.chat.cluster:worker``).

Every process reads ``NATS_URL``, ``NATS_PREFIX``, ``DATABASE_URL``, ``JWT_SECRET`` and
``AUTH_SERVICE_SECRET`` (the last two the same everywhere). ``make run-cluster`` starts 2 gateways, 2
services and a worker (``examples/chat/run_cluster.py``).

Where a connection's rooms live: on the gateway. A command forwarded over NATS carries the id of the
connection it came on (meta ``x-chat-connection``, with the gateway's id); the chat instance records
presence under that id in PostgreSQL and answers; the gateway then applies the answer to its connection
(``chat/join`` → ``connection.join(room)``, ``chat/leave`` → ``connection.leave(room)``, ``user/login``
and ``user/register`` → ``connection.identify(...)``). See docs/chat.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
from collections.abc import Mapping
from typing import Any

from loguru import logger

from betrue.config import Config, env
from betrue.nats import NatsAdapter, NatsConnection, NatsEventBus
from betrue.postgres import Database, PostgresJobQueue
from betrue.server import Application, Context, JwtAuthenticator, Response, Service, declare_event, use_auth
from betrue.server.auth import client_address
from betrue.server.commands import Command
from betrue.server.types import CallNext
from betrue.static import DocsService, StaticService
from betrue.ws import CLIENT_DIR, WsAdapter
from examples.chat.accounts import Accounts
from examples.chat.app import STATIC_ROOT, Banner
from examples.chat.commands import CONNECTION_HEADER, GATEWAY_HEADER, chat, user
from examples.chat.page import ChatPage, page_policy
from examples.chat.postgres import MIGRATIONS, PostgresAccounts, PostgresAttachments, PostgresChatStore
from examples.chat.presence import PostgresPresence
from examples.chat.quotas import Quotas

__all__ = ["GatewayHeartbeat", "create_gateway", "create_service", "create_worker"]

LOCAL_COMMANDS = ("chat/upload", "chat/attachment")
"""Commands the gateway runs itself: files stream over HTTP, which NATS request/reply does not carry."""


def _settings(environ: Mapping[str, str] | None, *, runs_jobs: bool = False) -> dict[str, str]:
    settings = dict(os.environ if environ is None else environ)
    settings.setdefault("JWT_SECRET", secrets.token_urlsafe(32))
    if settings.get("DATABASE_URL"):  # one job queue, "chat", in the chat's database: only the worker runs it
        settings.setdefault("JOBS_DATABASE_URL", settings["DATABASE_URL"])
    settings.setdefault("JOBS_QUEUE", "chat")
    if (policy := page_policy(settings)) is not None:  # the page may connect to the other gateway
        settings["HTTP_CSP"] = policy
    if not runs_jobs:
        settings["JOBS_WORKERS"] = "0"
    return settings


def _jobs(application: Application, settings: Mapping[str, str]) -> None:
    if settings.get("JOBS_DATABASE_URL"):
        application.replace_service("jobs", PostgresJobQueue)


def _storage(application: Application) -> None:
    application.add_service(Database, config={"migrations": str(MIGRATIONS), "namespace": "chat", "migrate": "auto"})
    application.add_service(PostgresAccounts)
    application.add_service(PostgresAttachments)
    application.add_service(Quotas)  # per process: in a cluster each instance counts what it serves


def create_service(
    environ: Mapping[str, str] | None = None, env_file: str | None = ".env", *, runs_jobs: bool = False
) -> Application:
    """A chat instance: the chat's commands on NATS (queue group ``chat``), data and presence in PostgreSQL.

    It listens on HTTP too (``HTTP_PORT``), for its readiness probe (``/_app/ready``) and metrics; the
    users' calls come through the gateways.
    """
    settings = _settings(environ, runs_jobs=runs_jobs)
    application = Application("chat", groups=[user, chat], environ=settings, env_file=env_file)
    use_auth(application, JwtAuthenticator)
    _jobs(application, settings)
    _storage(application)
    application.add_service(PostgresChatStore)
    application.add_service(PostgresPresence)
    application.add_service(NatsConnection)
    application.replace_service("events", NatsEventBus)
    application.add_service(NatsAdapter)
    return application


def create_worker(environ: Mapping[str, str] | None = None, env_file: str | None = ".env") -> Application:
    """The worker: a chat instance (same commands, same services) that runs the queue's jobs (``chat/measure``).

    Gateways and chat instances only enqueue (``JOBS_WORKERS=0``); the queue is in PostgreSQL, so a job a
    killed worker was running is taken again once its lease (``JOBS_LEASE``) runs out.
    """
    return create_service(environ, env_file, runs_jobs=True)


class HeartbeatConfig(Config):
    """Gateway heartbeat"""

    every: float = env("CHAT_HEARTBEAT", 5.0, description="Seconds between a gateway's heartbeats", ge=0.1)


class GatewayHeartbeat(Service):
    """This gateway's id and its heartbeat in ``chat_gateways``: chat instances drop the users of a silent one."""

    name = "heartbeat"
    deps = ("db",)
    config_class = HeartbeatConfig

    def __init__(self, config: HeartbeatConfig | None = None, *, db: Database) -> None:
        super().__init__()
        self.config: HeartbeatConfig = config if config is not None else HeartbeatConfig.from_dict({})
        self.db = db
        self.id = secrets.token_hex(8)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> GatewayHeartbeat:
        await self.beat()
        self._task = asyncio.get_running_loop().create_task(self._beat_forever(), name="chat-heartbeat")
        return self

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def beat(self) -> None:
        await self.db.execute(
            "INSERT INTO chat_gateways (id) VALUES ($1) ON CONFLICT (id) DO UPDATE SET seen_at = now()", self.id
        )

    async def _beat_forever(self) -> None:
        while True:
            await asyncio.sleep(self.config.every)
            try:
                await self.beat()
            except Exception:
                logger.opt(exception=True).warning("gateway heartbeat failed")


def keep_connections(application: Application) -> None:
    """The gateway's side of remote commands: say which connection a call came on, apply what it answered."""

    def connection_meta(ctx: Any, meta: dict[str, str]) -> None:
        if ctx is not None and getattr(ctx, "connection", None) is not None:
            meta[CONNECTION_HEADER] = ctx.connection.id
            meta[GATEWAY_HEADER] = application.service("heartbeat").id

    application.client.add_meta_hook(connection_meta)

    async def apply(ctx: Context, params: Any, call_next: CallNext) -> Response:
        response = await call_next(ctx, params)
        connection = ctx.connection
        if connection is None or not response.ok or not isinstance(response.result, Mapping):
            return response
        if ctx.code == "chat/join":
            connection.join(response.result["room"])
        elif ctx.code == "chat/leave":
            connection.leave(response.result["room"])
        elif ctx.code in ("user/login", "user/register"):
            identity = await ctx.app.service("auth").identify(
                {"authorization": f"Bearer {response.result['token']}"}, ctx.code
            )
            connection.identify(identity)
        return response

    application.use(apply)


def limit_logins(application: Application) -> None:
    """Count login and register attempts at the gateway, which sees the client's address (a chat instance
    behind NATS does not): per name and per address, as the monolith does (``CHAT_LOGIN_*``)."""

    async def limit(ctx: Context, params: Any, call_next: CallNext) -> Response:
        if ctx.code in ("user/login", "user/register") and isinstance(params, Mapping):
            name = params.get("name")
            if isinstance(name, str):
                accounts: Accounts = await ctx.service("accounts")
                accounts.limit(name.strip(), client_address(ctx), signup=ctx.code == "user/register")
        return await call_next(ctx, params)

    application.use(limit)


def serve_on_declared_transports(application: Application) -> None:
    """The forwarded commands keep the transports the chat declared for its callers (``transports=``):
    ``chat/join`` and ``chat/leave`` are served over the gateway's WebSocket only, a 404 over HTTP as in the
    monolith (and left out of its OpenAPI). ``nats`` is how the gateway reaches the chat, not a caller's way in.
    """
    declared = {
        command.code: tuple(way for way in command.transports if way != "nats")
        for command in [*chat.commands, *user.commands]
        if command.transports is not None
    }
    router = application.router
    add_command = router.add_command

    def add_declared(command: Any) -> Any:
        if isinstance(command, Command) and command.transports is None and command.code in declared:
            command.transports = declared[command.code]
        return add_command(command)

    router.add_command = add_declared  # type: ignore[method-assign]


def declare_chat_events(application: Application) -> None:
    """The chat's events, declared by the gateway too: its AsyncAPI document lists what its WebSocket pushes."""
    for declaration in chat.declarations.values():
        declare_event(
            application,
            declaration.name,
            schema=declaration.schema,
            description=declaration.description,
            to=declaration.to,
        )


def nats_target(settings: Mapping[str, str], app: str = "chat") -> str:
    """The ``nats://`` URL of the chat instances, from ``NATS_URL`` and ``NATS_PREFIX``."""
    servers = [url.strip().removeprefix("nats://") for url in settings.get("NATS_URL", "").split(",") if url.strip()]
    if not servers:  # the embedded server is per process: a cluster shares one, this default or NATS_URL
        servers = ["127.0.0.1:4222"]
    return f"nats://{','.join(servers)}/{app}?prefix={settings.get('NATS_PREFIX', 'betrue')}"


def create_gateway(environ: Mapping[str, str] | None = None, env_file: str | None = ".env") -> Application:
    """A gateway: the page, ``/ws``, ``/api/<code>``; the chat's commands forwarded to the chat instances."""
    settings = _settings(environ)
    application = Application("gateway", environ=settings, env_file=env_file)
    use_auth(application, JwtAuthenticator)
    _jobs(application, settings)
    _storage(application)
    for command in chat.commands:
        if command.code in LOCAL_COMMANDS:
            application.add_command(command)
    application.add_service(GatewayHeartbeat)
    application.add_service(NatsConnection)
    application.replace_service("events", NatsEventBus)
    target = nats_target(settings)
    application.proxy("chat", transport=target)
    application.proxy("user", transport=target)
    serve_on_declared_transports(application)
    keep_connections(application)
    limit_logins(application)
    declare_chat_events(application)
    application.add_service(WsAdapter)
    application.add_service(ChatPage)
    application.add_service(
        StaticService,
        deps={"http": "http", "app": "app", "ws": "ws", "chat_page": "chat_page"},
        config={"root": str(STATIC_ROOT)},
    )
    application.add_service(
        StaticService,
        name="ws_client",
        context="WS_CLIENT",
        config={"root": str(CLIENT_DIR), "prefix": "/betrue-ws/", "log_files": False},
    )
    application.add_service(DocsService)
    application.add_service(Banner)
    return application


def __getattr__(name: str) -> Application:
    """``gateway``, ``service`` and ``worker`` are built on first use (``betrue run examples.chat.cluster:gateway``)."""
    factories = {"gateway": create_gateway, "service": create_service, "worker": create_worker}
    if name in factories:
        return factories[name]()
    raise AttributeError(name)
