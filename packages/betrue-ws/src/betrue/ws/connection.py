"""One WebSocket client: its attributes (user, rooms, any key), identity and bounded outbound queue."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections import deque
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

from aiohttp import WSMsgType, web
from loguru import logger

from betrue.server import Identity
from betrue.ws.protocol import CLOSE_NORMAL, CLOSE_TOO_SLOW, close_frame, push_frame

if TYPE_CHECKING:
    from betrue.ws.registry import ConnectionRegistry

__all__ = ["Connection", "ConnectionState"]

ConnectionState = Literal["open", "closing", "closed"]

_SCALARS = (str, int, float, bool)
_COLLECTIONS = (list, tuple, set, frozenset)


class Connection:
    """A connected client, as commands see it through ``ctx.connection``.

    Attributes select which pushes reach it: ``to={"room": "r1"}`` matches a connection that joined
    ``r1``, ``to={"user": "ann"}`` one whose ``user`` is ``ann``. Outbound frames wait in a bounded
    queue drained by the connection's own writer task, so a client that stops reading is closed
    (1008) instead of slowing anyone else down.

    Example:
        >>> async def login(params, ctx):  # doctest: +SKIP
        ...     ctx.connection.set(user=params["name"])
        ...     ctx.connection.join("lobby")
        ...     return {"connection": ctx.connection.id, "rooms": sorted(ctx.connection.rooms)}
    """

    def __init__(
        self,
        ws: web.WebSocketResponse,
        *,
        transport: asyncio.Transport | None = None,
        headers: Mapping[str, str] | None = None,
        remote: str | None = None,
        send_queue: int = 1024,
        close_timeout: float = 3.0,
        registry: ConnectionRegistry | None = None,
    ) -> None:
        self.id = secrets.token_hex(8)
        self.ws = ws
        self.headers: Mapping[str, str] = MappingProxyType(dict(headers or {}))
        """The handshake's HTTP headers, lower-case."""
        self.remote = remote
        self.identity: Identity | None = None
        """Passed to every call of this connection as ``ctx.identity``; see ``identify``."""
        self.state: ConnectionState = "open"
        self.close_code: int | None = None
        self.close_reason = ""
        self._transport = transport
        self._registry = registry
        self._attributes: dict[str, Any] = {"connection": self.id}
        self._pending: deque[bytes] = deque()
        self._limit = send_queue
        self._close_timeout = close_timeout
        self._writer: asyncio.Task[None] | None = None
        self._started = False
        self._sending_since: float | None = None
        self._closing: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        return f"Connection({self.id!r}, {dict(self._attributes)!r}, {self.state})"

    # -- attributes -------------------------------------------------------------------------

    @property
    def transport(self) -> asyncio.Transport | None:
        """The socket's transport (``get_extra_info("peername")``…)."""
        return self._transport

    @property
    def attributes(self) -> Mapping[str, Any]:
        """A read-only live view: ``connection`` (the id), ``rooms`` once joined, and whatever ``set`` stored."""
        return MappingProxyType(self._attributes)

    @property
    def rooms(self) -> frozenset[str]:
        rooms: frozenset[str] = self._attributes.get("rooms", frozenset())
        return rooms

    @property
    def user(self) -> Any:
        return self._attributes.get("user")

    def set(self, **values: Any) -> None:
        """Set attributes (a None value removes one). Values are scalars or collections of scalars.

        Example:
            >>> # ctx.connection.set(user="ann", team="blue"); later to={"team": "blue"} reaches it
        """
        for key, value in values.items():
            if key == "connection":
                raise ValueError("the 'connection' attribute is the connection's id and cannot change")
            checked = _checked(key, value)
            if key == "rooms" and checked is not None and not isinstance(checked, frozenset):
                checked = frozenset((checked,))
            self._store(key, checked)

    def join(self, *rooms: str) -> None:
        """Add rooms: pushes with ``to={"room": name}`` reach this connection."""
        self._store("rooms", self.rooms | frozenset(_checked("rooms", list(rooms))))

    def leave(self, *rooms: str) -> None:
        self._store("rooms", self.rooms - frozenset(rooms))

    def identify(self, identity: Identity | None) -> None:
        """Make ``identity`` the caller of this connection's next calls and its ``user`` attribute."""
        self.identity = identity
        self._store("user", identity.subject if identity is not None else None)

    def _store(self, key: str, value: Any) -> None:
        old = self._attributes.get(key)
        if value is None or (isinstance(value, frozenset) and not value):
            self._attributes.pop(key, None)
            value = None
        else:
            self._attributes[key] = value
        if self._registry is not None and old != value:
            self._registry.update(self, key, old, value)

    # -- sending ----------------------------------------------------------------------------

    def send(self, event: str, data: Any = None) -> bool:
        """Push one event to this connection only; False when it is closing."""
        return self.push(push_frame(event, data))

    def push(self, frame: bytes) -> bool:
        """Queue an encoded text frame; never blocks. An overflowing queue closes the connection (1008)."""
        if self.state != "open":
            return False
        if len(self._pending) >= self._limit:
            self.drop("too slow: send queue full")
            return False
        self._pending.append(frame)
        if self._started and (self._writer is None or self._writer.done()):
            self._spawn_writer()
        return True

    @property
    def queued(self) -> int:
        """Frames waiting to be written."""
        return len(self._pending)

    def stalled_for(self, now: float) -> float:
        """Seconds the current write has been waiting for the client (0 when none is)."""
        since = self._sending_since
        return 0.0 if since is None else now - since

    def start(self) -> None:
        """Allow writing (the adapter calls it once the handshake is done).

        The writer task lives only while frames wait: an idle connection holds no task, which is most of
        what an idle connection would otherwise cost (see the ws-idle-memory benchmark).
        """
        self._started = True
        if self._pending:
            self._spawn_writer()

    def _spawn_writer(self) -> None:
        self._writer = asyncio.get_running_loop().create_task(self._write_loop(), name=f"ws-writer-{self.id}")

    async def _write_loop(self) -> None:
        loop = asyncio.get_running_loop()
        pending, ws = self._pending, self.ws
        try:
            while pending:  # frames pushed meanwhile join the same run; drained, the task ends
                self._sending_since = loop.time()
                # Encoded text frames go out as bytes: no str round trip per receiver.
                await ws.send_frame(pending.popleft(), WSMsgType.TEXT)
            self._sending_since = None
        except ConnectionError:  # the peer is gone: the read side notices too and ends the connection
            pending.clear()
            self._sending_since = None
            self._begin_close(CLOSE_NORMAL, "connection lost", flush=False)

    # -- closing ----------------------------------------------------------------------------

    def drop(self, reason: str, *, code: int = CLOSE_TOO_SLOW) -> None:
        """Close at once, discarding queued frames (a client too slow to keep up)."""
        if self.state == "open":
            logger.bind(connection=self.id).warning("dropping WebSocket connection {}: {}", self.id, reason)
        self._begin_close(code, reason, flush=False)

    async def close(self, code: int = CLOSE_NORMAL, reason: str = "", *, flush: bool = True) -> None:
        """Close: write what is queued (up to the close timeout) unless ``flush`` is False, then the close frame.

        Safe to call more than once and from several tasks; each waits for the same close.
        """
        self._begin_close(code, reason, flush=flush)
        assert self._closing is not None
        await asyncio.shield(self._closing)

    def _begin_close(self, code: int, reason: str, *, flush: bool) -> None:
        if self._closing is not None:
            return
        self.state = "closing"
        self.close_code, self.close_reason = code, reason
        if not flush:
            self._pending.clear()
        self._closing = asyncio.get_running_loop().create_task(self._close(code, reason, flush=flush))

    async def _close(self, code: int, reason: str, *, flush: bool) -> None:
        transport = self._transport
        try:
            await self._stop_writer(flush=flush)
            if not flush and transport is not None and transport.get_write_buffer_size():
                # The peer is not reading: the close frame goes behind the backlog, so a client that reads
                # again within the close timeout still learns why (1008); one that does not is cut then.
                transport.write(close_frame(code, reason))
                transport.close()
                if self._registry is not None:
                    self._registry.remove(self)  # no more pushes for it while the backlog drains
                asyncio.get_running_loop().call_later(self._close_timeout, transport.abort)
                return
            with contextlib.suppress(TimeoutError, ConnectionError):
                async with asyncio.timeout(self._close_timeout):
                    await self.ws.close(code=code, message=reason.encode()[:123], drain=flush)
        finally:
            if transport is not None and not transport.is_closing() and transport.get_write_buffer_size():
                # A peer that never reads would keep the socket (and its buffer) alive forever.
                transport.abort()
            self.state = "closed"

    async def _stop_writer(self, *, flush: bool) -> None:
        writer = self._writer
        if writer is None or writer.done():
            return
        if flush:  # the writer writes what is queued, then ends
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(writer), self._close_timeout)
        writer.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await writer


def _checked(key: str, value: Any) -> Any:
    if value is None or isinstance(value, _SCALARS):
        return value
    if isinstance(value, _COLLECTIONS):
        items = frozenset(value)
        if all(isinstance(item, _SCALARS) for item in items):
            return items
    raise TypeError(f"attribute {key!r}: use a string, number, boolean or a collection of them, not {value!r}")
