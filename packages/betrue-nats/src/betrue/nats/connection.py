"""The ``nats`` service: one nats-py connection per app, with reconnect, readiness, drain, and JetStream."""

from __future__ import annotations

import asyncio
import random
import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any

from loguru import logger
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext

from betrue.nats.config import NatsConfig
from betrue.nats.embedded import EmbeddedNats
from betrue.server import Service, ServiceUnavailable
from betrue.server.ext import Readiness

__all__ = ["NatsConnection", "backoff"]

Listener = Callable[[], None]


def backoff(attempt: int, first: float, longest: float) -> float:
    """Seconds to wait before reconnect attempt ``attempt`` (0-based): doubling, capped, with full jitter.

    Example:
        >>> 0 <= backoff(10, 0.25, 5.0) <= 5.0
        True
    """
    ceiling = min(longest, first * (2 ** min(attempt, 30)))
    return random.uniform(ceiling / 2, ceiling)


class NatsConnection(Service):
    """Service ``nats``: the nats-py client (``.client``), JetStream (``.jetstream``) and the subject prefix.

    Reconnects by itself with doubling delays and jitter; ``connected`` and ``readiness()`` say whether
    it is up now. With no ``NATS_URL`` it starts an embedded nats-server (JetStream on, data in
    ``NATS_EMBEDDED_DIR``) and stops it with the app. At stop it drains: subscriptions stop taking
    messages, those already received are handled and answered, then the connection closes.

    Example:
        >>> from betrue.server import Application
        >>> app = Application("demo")
        >>> _ = app.add_service(NatsConnection, config={"url": ["nats://127.0.0.1:4222"]})
        >>> # after start: nc = app.service("nats").client; await nc.publish("x", b"hi")
    """

    name = "nats"
    config_class = NatsConfig
    config: NatsConfig

    def __init__(self, config: NatsConfig | None = None, **deps: Any) -> None:
        super().__init__(config if config is not None else NatsConfig.from_dict({}), **deps)
        self._client: NatsClient | None = None
        self._jetstream: JetStreamContext | None = None
        self.embedded: EmbeddedNats | None = None
        self.servers: list[str] = list(self.config.url)
        self.on_disconnect: list[Listener] = []
        self.on_reconnect: list[Listener] = []
        self.on_error: list[Callable[[Exception], None]] = []
        self.disconnects = 0
        self.reconnects = 0

    # -- what other parts use ------------------------------------------------------------------

    @property
    def client(self) -> NatsClient:
        """The connected nats-py client (raises 503 before start)."""
        if self._client is None:
            raise ServiceUnavailable("NATS is not connected", details={"reason": "not_started"})
        return self._client

    @property
    def jetstream(self) -> JetStreamContext:
        """A JetStream context on this connection (made once)."""
        if self._jetstream is None:
            self._jetstream = self.client.jetstream()
        return self._jetstream

    @property
    def prefix(self) -> str:
        return self.config.prefix

    @property
    def connected(self) -> bool:
        return self._client is not None and self._client.is_connected

    def readiness(self) -> Readiness:
        """Ready while connected; otherwise says why (reconnecting, closed)."""
        if self._client is None:
            return Readiness(False, "not started")
        if self._client.is_connected:
            return Readiness(
                True, f"connected to {self._client.connected_url.netloc if self._client.connected_url else '?'}"
            )
        if self._client.is_reconnecting:
            return Readiness(False, "reconnecting")
        return Readiness(False, "closed" if self._client.is_closed else "disconnected")

    # -- lifecycle -------------------------------------------------------------------------------

    async def start(self) -> NatsConnection:
        config = self.config
        if not self.servers:
            if not config.embedded:
                raise ServiceUnavailable("NATS_URL is empty and NATS_EMBEDDED is off")
            self.embedded = EmbeddedNats(Path(config.embedded_dir))
            self.servers = [await self.embedded.start()]
            logger.info(
                "NATS: no NATS_URL, embedded nats-server on {} (JetStream data in {})",
                self.servers[0],
                config.embedded_dir,
            )
        client = NatsClient()
        try:
            # nats-py retries the first connection for as long as it would reconnect (forever by default).
            await asyncio.wait_for(client.connect(**self.connect_options()), config.start_timeout)
            self._client = client
        except BaseException as error:  # a cancelled start (a caller's deadline) must not leave the client running
            await asyncio.shield(self._abandon(client))
            if not isinstance(error, Exception):
                raise
            message = f"cannot connect to NATS at {', '.join(self.servers)}: {type(error).__name__} {error}"
            raise ServiceUnavailable(message, details={"reason": "connect"}) from None
        return self

    async def _abandon(self, client: NatsClient) -> None:
        try:
            await client.close()
        finally:
            await self._stop_embedded()

    def connect_options(self) -> dict[str, Any]:
        """The keyword arguments of ``nats.connect`` this config makes (public for transports that connect alone)."""
        config = self.config
        options: dict[str, Any] = {
            "servers": self.servers,
            "name": config.name or "betrue",
            "connect_timeout": config.connect_timeout,
            "max_reconnect_attempts": config.max_reconnects,
            "drain_timeout": config.drain_timeout,
            "reconnect_to_server_handler": self._next_server,
            "error_cb": self._on_error,
            "disconnected_cb": self._on_disconnected,
            "reconnected_cb": self._on_reconnected,
        }
        if config.user:
            options["user"] = config.user
            options["password"] = config.password.get_secret_value() if config.password else ""
        if config.token is not None:
            options["token"] = config.token.get_secret_value()
        if config.credentials:
            options["user_credentials"] = config.credentials
        if config.tls_ca or config.tls_cert or any(url.startswith("tls://") for url in self.servers):
            context = ssl.create_default_context(cafile=config.tls_ca or None)
            if config.tls_cert:
                context.load_cert_chain(config.tls_cert, config.tls_key or None)
            options["tls"] = context
        return options

    def _next_server(self, servers: list[Any], info: dict[str, Any]) -> tuple[Any, float]:
        server = min(servers, key=lambda candidate: (candidate.reconnects, random.random()))
        return server, backoff(server.reconnects, self.config.reconnect_wait, self.config.reconnect_wait_max)

    async def _on_error(self, error: Exception) -> None:
        logger.warning("NATS: {}: {}", type(error).__name__, error)
        for listener in list(self.on_error):
            listener(error)

    async def _on_disconnected(self) -> None:
        client = self._client
        if client is None or client.is_closed or client.is_draining:
            return  # our own stop, not a failure
        self.disconnects += 1
        logger.warning("NATS: disconnected; reconnecting")
        for listener in list(self.on_disconnect):
            listener()

    async def _on_reconnected(self) -> None:
        self.reconnects += 1
        url = self._client.connected_url if self._client is not None else None
        logger.info("NATS: reconnected to {}", url.netloc if url is not None else "?")
        for listener in list(self.on_reconnect):
            listener()

    async def stop(self) -> None:
        """Drain (subscriptions finish what they received, requests in flight are answered), then close."""
        client, self._client, self._jetstream = self._client, None, None
        if client is not None and not client.is_closed:
            try:
                if client.is_connected:
                    await client.drain()
                else:
                    await client.close()
            except Exception as error:
                logger.warning("NATS: drain failed ({}: {}); closing", type(error).__name__, error)
                await client.close()
        await self._stop_embedded()

    async def _stop_embedded(self) -> None:
        if self.embedded is not None:
            await self.embedded.stop()
            logger.info("NATS: embedded nats-server stopped")
            self.embedded = None
