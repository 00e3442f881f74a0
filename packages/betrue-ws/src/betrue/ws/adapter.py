"""The WebSocket adapter: commands over WebSocket and server push, on the HTTP adapter's aiohttp server."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from aiohttp import web
from loguru import logger

from betrue.config import Config, env
from betrue.server import Adapter, Event, Forbidden, ServiceUnavailable, Subscription
from betrue.server.ext import RateLimitedLog
from betrue.ws.connection import Connection
from betrue.ws.handshake import OriginPolicy, UpgradeRequired, refusal
from betrue.ws.protocol import CLOSE_GOING_AWAY, CLOSE_NORMAL, CLOSE_TRY_AGAIN_LATER, push_frame
from betrue.ws.registry import ConnectionRegistry
from betrue.ws.session import Session

if TYPE_CHECKING:
    from betrue.server import Application

__all__ = ["WsAdapter", "WsConfig"]

# Handshake headers that must not leak into every call's meta: per-call trace ids and deadlines, plumbing.
_NOT_META = frozenset({"traceparent", "tracestate", "x-trace-id", "x-timeout-ms", "upgrade", "connection"})


class WsConfig(Config):
    """WebSocket endpoint (service ``ws``)."""

    path: str = env("WS_PATH", "/ws", description="URL path of the WebSocket endpoint", pattern=r"^/")
    max_message: int = env(
        "WS_MAX_MESSAGE",
        1024 * 1024,
        description="Largest frame a client may send (bytes); a larger one closes with 1009",
        ge=1,
    )
    heartbeat: float = env(
        "WS_HEARTBEAT",
        20.0,
        description="Seconds of silence before a ping; no pong within half of it closes (0: off)",
        ge=0,
    )
    send_queue: int = env(
        "WS_SEND_QUEUE",
        1024,
        description="Frames queued per connection; a client that lets it fill is closed (1008)",
        ge=1,
    )
    send_timeout: float = env(
        "WS_SEND_TIMEOUT",
        10.0,
        description="Seconds a write may wait for a client that stopped reading before it is closed (1008)",
        ge=0.001,
    )
    max_inflight: int = env(
        "WS_MAX_INFLIGHT", 128, description="Calls running at once per connection; more are answered 429", ge=1
    )
    origins: list[str] = env(
        "WS_ORIGINS",
        [],
        description="Web page origins allowed besides the endpoint's own: https://app.example.com, "
        "https://*.example.com (subdomains) or * (any)",
    )
    close_timeout: float = env(
        "WS_CLOSE_TIMEOUT",
        3.0,
        description="Seconds to flush and finish the close handshake before dropping the socket",
        ge=0.001,
    )
    compress: bool = env("WS_COMPRESS", False, description="Offer permessage-deflate to clients that ask for it")
    max_connections: int = env(
        "WS_MAX_CONNECTIONS",
        0,
        description="Open WebSocket connections at most; past it a new one is closed at once with 1013 "
        "(try again later). 0: half the HTTP server's connection cap",
        ge=0,
    )


class WsAdapter(Adapter):
    """Serves commands over WebSocket at ``WS_PATH`` and pushes events to the connections they select.

    Calls arrive as ``{"id", "command", "params", "meta"}`` and are answered with the envelope plus
    ``id``; events published on the EventBus (names not starting with ``_``) are pushed as
    ``{"event", "data"}`` to every connection whose attributes match the event's ``to``.

    Example:
        >>> from betrue.server import Application
        >>> app = Application("chat")
        >>> app.add_service(WsAdapter)  # doctest: +ELLIPSIS
        ServiceSpec(name='ws', ...)
        >>> # in a handler: ctx.connection.join("r1"); await ctx.emit("chat.message", data, to={"room": "r1"})
        >>> # anywhere:     await app.service("ws").send("notice", {"text": "hi"}, to={"user": "ann"})
    """

    name = "ws"
    deps = ("http",)
    config_class = WsConfig

    def __init__(self, config: WsConfig | None = None, http: Any = None) -> None:
        super().__init__(config=config, http=http)
        self.config: WsConfig = config if config is not None else WsConfig.from_dict({})
        self.http = http
        self.connections = ConnectionRegistry()
        self.origins = OriginPolicy(self.config.origins)
        self.app: Application | None = None
        self.accepting = False
        self._sessions: dict[str, Session] = {}
        self._subscription: Subscription | None = None
        self._watchdog: asyncio.Task[None] | None = None
        self._shutdown: asyncio.Task[None] | None = None
        self._refusals = RateLimitedLog()

    # -- lifecycle --------------------------------------------------------------------------

    async def start(self) -> WsAdapter:
        web_app: web.Application = self.http.web
        web_app.router.add_get(self.config.path, self.handle_request, name="betrue-ws")
        # aiohttp's runner fires on_shutdown before it cancels handlers: the moment to close with 1001.
        web_app.on_shutdown.append(self._on_http_shutdown)
        return self

    async def serve(self, app: Application) -> None:
        self.app = app
        self.accepting = True
        self._subscription = app.events.subscribe(">", self._on_event)
        self._watchdog = asyncio.get_running_loop().create_task(self._watch_stalled(), name="ws-watchdog")
        url = getattr(self.http, "url", None)
        if url:
            logger.info("WebSocket endpoint at {}{}", url.replace("http", "ws", 1), self.config.path)

    async def close_listeners(self) -> None:
        """Refuse new handshakes (503); calls on open connections are refused by the app (503) from now on."""
        self.accepting = False

    async def close(self) -> None:
        """Close every connection with 1001 after its in-flight calls were answered."""
        await self.shutdown_connections()
        if self._subscription is not None:
            self._subscription.unsubscribe()
            self._subscription = None
        if self._watchdog is not None:
            self._watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watchdog
            self._watchdog = None

    async def shutdown_connections(self, reason: str = "server shutting down") -> None:
        """Answer in-flight calls, flush, then close every connection with 1001 (once, however often called)."""
        self.accepting = False
        if self._shutdown is None:
            self._shutdown = asyncio.get_running_loop().create_task(self._close_all(reason))
        await asyncio.shield(self._shutdown)

    async def _close_all(self, reason: str) -> None:
        # Application.stop gave the calls SHUTDOWN_TIMEOUT already; the stragglers get WS_CLOSE_TIMEOUT more.
        sessions = list(self._sessions.values())
        await asyncio.gather(*(session.wait(self.config.close_timeout) for session in sessions))
        await asyncio.gather(*(connection.close(CLOSE_GOING_AWAY, reason) for connection in self.connections))

    async def _on_http_shutdown(self, _: web.Application) -> None:
        await self.shutdown_connections()

    # -- push -------------------------------------------------------------------------------

    async def send(self, event: str, data: Any = None, *, to: Mapping[str, Any] | None = None) -> int:
        """Push ``{"event", "data"}`` to every local connection matching ``to``; returns how many got it queued.

        Never waits for a client: each connection has its own queue and writer.

        Example:
            >>> # await ws.send("chat.message", {"text": "hi"}, to={"room": "r1", "user": ["ann", "bob"]})
        """
        return self.fanout(push_frame(event, data), to)

    def fanout(self, frame: bytes, to: Mapping[str, Any] | None) -> int:
        """Queue an encoded frame on every matching connection (synchronous; never blocks)."""
        delivered = 0
        for connection in self.connections.select(to):
            if connection.push(frame):
                delivered += 1
        return delivered

    async def _on_event(self, event: Event) -> None:
        if event.name.startswith("_"):
            return  # server-side events (``_ws.connected``…) never reach browsers
        try:
            frame = push_frame(event.name, event.data)
        except TypeError:
            logger.opt(exception=True).error("event {} has data that is not JSON; not pushed", event.name)
            return
        self.fanout(frame, event.to)

    # -- connections ------------------------------------------------------------------------

    async def handle_request(self, request: web.Request) -> web.StreamResponse:
        """The aiohttp handler of ``WS_PATH``: check the handshake, then serve the connection until it closes."""
        app = self.app
        if app is None or not self.accepting:
            return refusal(ServiceUnavailable("Not accepting WebSocket connections: the server is stopping"))
        origin = request.headers.get("Origin")
        if not self.origins.allows(origin, host=request.host):
            logger.info("WebSocket handshake refused: origin {} is not allowed (WS_ORIGINS)", origin)
            return refusal(Forbidden("This page's origin may not open a WebSocket here", details={"origin": origin}))
        config = self.config
        version = request.headers.get("Sec-WebSocket-Version")
        if version is not None and version.strip() != "13":
            # RFC 6455 §4.4: only version 13 is spoken; aiohttp would also accept the drafts 7 and 8.
            response = refusal(UpgradeRequired("Only WebSocket version 13 is spoken", details={"reason": "version"}))
            response.headers.update({"Upgrade": "websocket", "Sec-WebSocket-Version": "13"})
            return response
        ws = web.WebSocketResponse(
            heartbeat=config.heartbeat or None,
            max_msg_size=config.max_message,
            compress=config.compress,
            timeout=config.close_timeout,
        )
        if not ws.can_prepare(request):
            response = refusal(UpgradeRequired("This is a WebSocket endpoint: connect with a WebSocket client"))
            response.headers["Upgrade"] = "websocket"
            return response
        await ws.prepare(request)
        if len(self.connections) >= self.connection_cap():
            self._refusals.warning(
                "ws_connection_cap", "WebSocket connection cap reached: closing new connections with 1013"
            )
            await ws.close(code=CLOSE_TRY_AGAIN_LATER, message=b"too many connections: try again later")
            return ws
        headers = {key.lower(): value for key, value in request.headers.items()}
        connection = Connection(
            ws,
            transport=request.transport,
            headers=headers,
            remote=request.remote,
            send_queue=config.send_queue,
            close_timeout=config.close_timeout,
            registry=self.connections,
        )
        base_meta = {k: v for k, v in headers.items() if k not in _NOT_META and not k.startswith("sec-websocket-")}
        session = Session(app, connection, max_inflight=config.max_inflight, base_meta=base_meta)
        self.connections.add(connection)
        self._sessions[connection.id] = session
        connection.start()
        log = logger.bind(connection=connection.id)
        log.debug("WebSocket connection {} from {}", connection.id, connection.remote)
        try:
            await app.emit("_ws.connected", {"connection": connection.id, "remote": connection.remote})
            await session.run()
        finally:
            await connection.close(ws.close_code or CLOSE_NORMAL, flush=False)
            self.connections.remove(connection)
            self._sessions.pop(connection.id, None)
            log.debug("WebSocket connection {} closed ({})", connection.id, ws.close_code)
            await app.emit("_ws.disconnected", {"connection": connection.id, "attributes": _jsonable(connection)})
        return ws

    def connection_cap(self) -> int:
        """``WS_MAX_CONNECTIONS``, or half the HTTP adapter's connection cap when it is 0."""
        if self.config.max_connections:
            return self.config.max_connections
        cap = getattr(getattr(self.http, "config", None), "connection_cap", None)
        return max(1, cap() // 2) if callable(cap) else 5_000

    async def _watch_stalled(self) -> None:
        """Close connections whose current write has waited longer than ``WS_SEND_TIMEOUT``."""
        timeout = self.config.send_timeout
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(min(timeout / 4, 1.0))
            now = loop.time()
            for connection in self.connections:
                if connection.stalled_for(now) > timeout:
                    connection.drop(f"too slow: a write waited more than {timeout}s")


def _jsonable(connection: Connection) -> dict[str, Any]:
    return {
        key: sorted(value, key=str) if isinstance(value, frozenset) else value
        for key, value in connection.attributes.items()
    }
