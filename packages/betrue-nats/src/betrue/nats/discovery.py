"""Discovery over NATS: apps announce themselves; a gateway with ``GATEWAY_UPSTREAMS=nats`` follows them.

Subjects (``<prefix>.discovery.*``): ``announce`` — an app instance is serving (at start, and as the
answer to a query); ``bye`` — an instance stops; ``query`` — who is there? (every instance answers).
A message is JSON: ``{"app": "chat", "instance": "<id>", "prefix": "betrue", "commands": [...]}``
(``commands``: the result of ``_app/commands``; absent from ``bye``).
"""

from __future__ import annotations

import asyncio
import uuid
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import orjson
from loguru import logger
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from betrue.nats.config import NatsConfig
from betrue.nats.connection import NatsConnection
from betrue.nats.subjects import discovery_subject
from betrue.nats.transport import NatsTransport
from betrue.server import encode_json
from betrue.server.ext import Gateway, Upstream

if TYPE_CHECKING:
    from betrue.server import Application

__all__ = ["Announcer", "NatsUpstreams"]


class Announcer:
    """Makes one app instance known on NATS: ``announce`` at start, answers ``query``, ``bye`` at stop.

    Example:
        >>> # the NATS adapter runs one: Announcer(connection, app, "chat"); await announcer.start()
    """

    def __init__(self, connection: NatsConnection, app: Application, app_name: str) -> None:
        self.connection = connection
        self.app = app
        self.app_name = app_name
        self.instance = uuid.uuid4().hex
        self._subscription: Subscription | None = None
        self._document = b""

    def _subject(self, kind: str) -> str:
        return discovery_subject(self.connection.prefix, kind)

    async def start(self) -> None:
        commands = await self.app.handle("_app/commands", {}, adapter="nats")
        self._document = encode_json(
            {
                "app": self.app_name,
                "instance": self.instance,
                "prefix": self.connection.prefix,
                "commands": commands.result,
            }
        )
        client = self.connection.client
        self._subscription = await client.subscribe(self._subject("query"), cb=self._answer)
        await client.publish(self._subject("announce"), self._document)
        await client.flush()

    async def _answer(self, msg: Msg) -> None:
        if msg.reply:
            await self.connection.client.publish(msg.reply, self._document)

    async def stop(self) -> None:
        subscription, self._subscription = self._subscription, None
        if subscription is None or not self.connection.connected:
            return
        try:
            await subscription.unsubscribe()
            bye = encode_json({"app": self.app_name, "instance": self.instance, "prefix": self.connection.prefix})
            await self.connection.client.publish(self._subject("bye"), bye)
            await self.connection.client.flush()
        except Exception as error:
            logger.warning("NATS: bye of {} not sent ({})", self.app_name, error)


class NatsUpstreams:
    """The upstream source ``nats`` of the gateway (``GATEWAY_UPSTREAMS=nats``): follows announcements.

    An app that announces itself becomes an upstream (``nats://<NATS_URL>/<app>?prefix=…``) whose commands
    the gateway reads and serves; one whose last instance says bye is marked down, so its commands
    answer 503 until it is back. At start it asks every app already running (``query``).

    Example:
        >>> # GATEWAY_UPSTREAMS=nats NATS_URL=nats://127.0.0.1:4222 betrue run gateway.app:app
    """

    query_window = 0.3
    """Seconds the start waits for the apps already running to answer the query."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        loader = gateway.app.loader
        self.config = NatsConfig.load(environ=loader.environ, env_file=loader.env_file)
        self.connection: NatsConnection | None = None
        self.instances: dict[str, set[str]] = {}
        self.upstreams: dict[str, Upstream] = {}
        self._tasks: set[asyncio.Task[Any]] = set()

    def target(self, app: str, prefix: str) -> str:
        """The route target of ``app``: this gateway's NATS servers, the app, the prefix it announced."""
        parts = [urlsplit(url if "://" in url else f"nats://{url}") for url in self.config.url]
        return f"{parts[0].scheme}://{','.join(part.netloc for part in parts)}/{app}?prefix={prefix}"

    async def start(self) -> None:
        if not self.config.url:
            raise ValueError("GATEWAY_UPSTREAMS=nats needs NATS_URL (the NATS servers the apps announce on)")
        self.connection = NatsConnection(self.config)
        await self.connection.start()
        client, prefix = self.connection.client, self.config.prefix
        await client.subscribe(discovery_subject(prefix, "announce"), cb=self._on_announce)
        await client.subscribe(discovery_subject(prefix, "bye"), cb=self._on_bye)
        inbox = client.new_inbox()
        answers = await client.subscribe(inbox, cb=self._on_announce)
        await client.publish(discovery_subject(prefix, "query"), b"", reply=inbox)
        await asyncio.sleep(self.query_window)
        await answers.unsubscribe()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=self.gateway.config.timeout * 2)

    def _read(self, msg: Msg) -> tuple[str, str, str] | None:
        try:
            body = orjson.loads(msg.data)
            return str(body["app"]), str(body["instance"]), str(body.get("prefix") or self.config.prefix)
        except (orjson.JSONDecodeError, KeyError, TypeError):
            logger.warning("NATS discovery: malformed message on {} ignored", msg.subject)
            return None

    async def _on_announce(self, msg: Msg) -> None:
        read = self._read(msg)
        if read is None:
            return
        app, instance, prefix = read
        self.instances.setdefault(app, set()).add(instance)
        upstream = self.upstreams.get(app)
        if upstream is None:
            # The upstream's calls share this source's connection: one connection for every app followed.
            transport = NatsTransport(self.target(app, prefix), connection=self.connection)
            upstream = self.upstreams[app] = self.gateway.declare("*", None, transport, from_config=True)
            logger.info("NATS discovery: app {} appeared", app)
        task = asyncio.create_task(self.gateway.discover(upstream))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _on_bye(self, msg: Msg) -> None:
        read = self._read(msg)
        if read is None:
            return
        app, instance, _ = read
        left = self.instances.get(app, set())
        left.discard(instance)
        upstream = self.upstreams.get(app)
        if not left and upstream is not None:
            logger.info("NATS discovery: the last instance of {} stopped", app)
            self.gateway.mark_down(upstream)

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        connection, self.connection = self.connection, None
        if connection is not None:
            await connection.stop()
        self.upstreams.clear()
        self.instances.clear()
