"""The connection side of the HTTP adapter: aiohttp's protocol with deadlines, a connection cap, and its site.

aiohttp cuts a client that dribbles its headers only when the keep-alive timer runs out (3630 s by default
for an ``AppRunner``, 75 s under ``web.run_app``), keeps a connection that never sends a byte just as long,
has no cap on connections, and renders protocol errors as text/plain that echoes the request's bytes.
This protocol:

- closes a connection that sends nothing within ``idle_timeout`` of opening (first-byte deadline);
- starts a clock at the first byte of a request, answers 408 and closes when the headers are late;
- caps open connections: at the cap the longest-idle connection makes room, and when none is idle the
  new one is answered 503 with ``Retry-After`` and closed (one rate-limited log line, never a flood);
- answers a valid request pipelined before a malformed one, then the malformed one with its 400;
- renders protocol errors as JSON envelopes with a stable reason and none of the client's bytes;
- refuses unmasked WebSocket client frames after an upgrade (close 1002, RFC 6455 §5.1);
- at shutdown answers every request it took (503 and ``Connection: close`` once the app stopped
  accepting), and closes idle keep-alive connections after a short window in which requests already on
  the wire are still answered.
"""

from __future__ import annotations

import asyncio
import os
import struct
from collections.abc import Callable
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from loguru import logger

from betrue.server.adapters._exhaustion import RateLimitedLog
from betrue.server.errors import (
    BetrueError,
    InternalError,
    RequestTimeout,
    ServiceUnavailable,
    ValidationError,
    error_for_code,
)
from betrue.server.response import error_envelope
from betrue.server.wire import encode_json

__all__ = ["SERVER_NAME", "HttpProtocol", "ListeningSite", "envelope_response"]

SERVER_NAME = "betrue"
"""The ``Server`` header of every answer: no language, library or version for a scanner to match."""

LINGER = 1.0
"""Seconds a connection we hang up on keeps reading (and dropping) what the client still sends.

Closing a socket with unread input makes the kernel answer with a reset, which can destroy the response
before the client reads it; so the write side closes first (the client sees the answer, then EOF) and the
read side a little later.
"""

DRAIN_WINDOW = 0.5
"""Seconds an idle keep-alive connection that served a request lately stays open at shutdown.

A client that just read an answer may already have its next request on the wire: closing under it would
lose that request without an answer, so such connections get this long to deliver it (answered 503 with
``Connection: close``) before they are closed.
"""

REPLAY_LIMIT = 8192
"""Bytes of a connection's input kept to recover the requests parsed before a malformed one."""

_refusals = RateLimitedLog()


def envelope_response(error: BetrueError, trace_id: str) -> web.Response:
    """A JSON error envelope as an aiohttp response, with the trace id header."""
    body = encode_json(error_envelope(error, trace_id))
    headers = {"Content-Type": "application/json", "x-trace-id": trace_id, "Server": SERVER_NAME}
    retry_after = (error.details or {}).get("retryAfter") if isinstance(error.details, dict) else None
    if isinstance(retry_after, int | float) and retry_after >= 0:
        headers["Retry-After"] = str(max(1, round(retry_after)))
    return web.Response(body=body, status=error.code, headers=headers)


def _raw_envelope(error: BetrueError, *, retry_after: int | None = None) -> bytes:
    """A whole HTTP/1.1 response, written straight to the socket when no request object exists yet."""
    trace_id = os.urandom(16).hex()
    body = encode_json(error_envelope(error, trace_id))
    retry = f"Retry-After: {retry_after}\r\n" if retry_after is not None else ""
    head = (
        f"HTTP/1.1 {error.code} {error.status}\r\nServer: {SERVER_NAME}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nx-trace-id: {trace_id}\r\n{retry}Connection: close\r\n\r\n"
    )
    return head.encode() + body


def _parse_error_reason(exc: BaseException | None) -> str:
    """A stable snake_case reason for a parser error (``BadStatusLine`` → ``bad_status_line``)."""
    name = type(exc).__name__ if exc is not None else "BadHttpMessage"
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")


class _ReplayingParser:
    """Wraps aiohttp's request parser so the requests before a malformed one in the same bytes are kept.

    aiohttp's parser raises on the malformed request and drops the ones it already parsed from the same
    read; on that error the connection's first bytes (up to ``REPLAY_LIMIT``) are fed again, a byte at a
    time, to a fresh parser, and the requests it completes before failing are handed on, then the 400.
    """

    __slots__ = ("_emitted", "_factory", "_history", "parser")

    def __init__(self, parser: Any, factory: Callable[[], Any]) -> None:
        self.parser = parser
        self._factory = factory
        self._history: bytearray | None = bytearray()
        self._emitted = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.parser, name)

    def feed_data(self, data: bytes) -> tuple[list[Any], bool, bytes]:
        if self._history is not None:
            if len(self._history) + len(data) <= REPLAY_LIMIT:
                self._history += data
            else:
                self._history = None
        try:
            messages, upgraded, tail = self.parser.feed_data(data)
        except HttpProcessingError as error:
            recovered = self._replay() if self._history is not None else []
            self._history = None
            from aiohttp.web_protocol import _ErrInfo

            return [*recovered, (_ErrInfo(status=400, exc=error, message=error.message), _empty())], False, b""
        self._emitted += len(messages)
        return messages, upgraded, tail

    def _replay(self) -> list[Any]:
        assert self._history is not None
        try:
            fresh = self._factory()
        except Exception:  # a future aiohttp with another parser signature: answer the 400 only
            logger.opt(exception=True).debug("no replay parser")
            return []
        found: list[Any] = []
        for index in range(len(self._history)):
            try:
                messages, upgraded, _ = fresh.feed_data(bytes(self._history[index : index + 1]))
            except HttpProcessingError:
                break
            found.extend(messages)
            if upgraded:
                break
        # Only requests whose body arrived whole: the one the error broke (its body cut) is the 400's.
        return [(message, payload) for message, payload in found[self._emitted :] if payload.is_eof()]

    def feed_eof(self) -> Any:
        return self.parser.feed_eof()


def _empty() -> Any:
    from aiohttp.streams import EMPTY_PAYLOAD

    return EMPTY_PAYLOAD


class _MaskCheck:
    """Stands in front of aiohttp's WebSocket reader and refuses an unmasked client frame (close 1002).

    RFC 6455 §5.1: a server must close the connection when it receives an unmasked frame; aiohttp's reader
    reads them anyway. This follows the frame headers through the byte stream (no payload is copied).
    """

    __slots__ = ("_header", "_left", "_on_violation", "reader")

    def __init__(self, reader: Any, on_violation: Callable[[], None]) -> None:
        self.reader = reader
        self._on_violation = on_violation
        self._header = bytearray()
        self._left = 0  # payload bytes of the current frame still to pass

    def __getattr__(self, name: str) -> Any:
        return getattr(self.reader, name)

    def feed_data(self, data: bytes) -> tuple[bool, bytes]:
        if not self._frames_masked(data):
            self._on_violation()
            return True, b""
        result: tuple[bool, bytes] = self.reader.feed_data(data)
        return result

    def feed_eof(self) -> Any:
        return self.reader.feed_eof()

    def _frames_masked(self, data: bytes) -> bool:
        view, position = memoryview(data), 0
        while position < len(view):
            if self._left:
                step = min(self._left, len(view) - position)
                self._left -= step
                position += step
                continue
            self._header.append(view[position])
            position += 1
            header = self._header
            if len(header) < 2:
                continue
            if not header[1] & 0x80:
                return False
            short = header[1] & 0x7F
            size_bytes = 2 if short == 126 else 8 if short == 127 else 0
            if len(header) < 2 + size_bytes + 4:
                continue
            if size_bytes == 2:
                (length,) = struct.unpack_from("!H", header, 2)
            elif size_bytes == 8:
                (length,) = struct.unpack_from("!Q", header, 2)
            else:
                length = short
            self._header = bytearray()
            self._left = length
        return True


_UNMASKED = b"unmasked frame"
_CLOSE_PROTOCOL_ERROR = bytes([0x88, 2 + len(_UNMASKED)]) + struct.pack("!H", 1002) + _UNMASKED
"""A server close frame (never masked): 1002 protocol error."""


class HttpProtocol(web.RequestHandler):
    """aiohttp's request handler plus deadlines, a connection cap, safe protocol errors and a draining mode."""

    __slots__ = (
        "_draining",
        "_evicted",
        "_first_byte_clock",
        "_hanging_up",
        "_header_clock",
        "_header_timeout",
        "_idle_timeout",
        "_last_active",
        "_max_connections",
        "_messages_at_clock",
    )

    def __init__(
        self,
        manager: web.Server,
        *,
        header_timeout: float,
        idle_timeout: float = 0.0,
        max_connections: int = 0,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("auto_decompress", False)  # bodies are decompressed strictly by the call handler
        super().__init__(manager, **kwargs)
        self._header_timeout = header_timeout
        self._idle_timeout = idle_timeout
        self._max_connections = max_connections
        self._header_clock: asyncio.TimerHandle | None = None
        self._first_byte_clock: asyncio.TimerHandle | None = None
        self._messages_at_clock = 0
        self._draining = False
        self._hanging_up = False
        self._evicted = False
        self._last_active = 0.0
        parser = self._parser
        self._parser = _ReplayingParser(parser, self._fresh_parser)  # type: ignore[assignment]

    def _fresh_parser(self) -> Any:
        from aiohttp.http_parser import HttpRequestParser
        from aiohttp.web_protocol import MAX_MSG_QUEUE_SIZE, RequestPayloadError

        return HttpRequestParser(
            self,
            self._loop,
            self._read_bufsize,
            max_line_size=self.max_line_size,
            max_field_size=self.max_field_size,
            max_headers=self.max_headers,
            payload_exception=RequestPayloadError,
            auto_decompress=False,
            max_msg_queue_size=MAX_MSG_QUEUE_SIZE,
        )

    # -- connections: the first byte, the cap ------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._last_active = self._loop.time()
        if self._idle_timeout > 0:
            self._first_byte_clock = self._loop.call_later(self._idle_timeout, self._never_spoke)
        if self._max_connections > 0:
            self._enforce_cap()

    def _never_spoke(self) -> None:
        self._first_byte_clock = None
        if self._request_count == 0 and self._between_requests() and not self._force_close:
            self.force_close()  # nothing was asked, so nothing is owed: no answer, just close

    def _enforce_cap(self) -> None:
        manager = self._manager
        if manager is None:
            return
        connections = [
            c for c in manager.connections if isinstance(c, HttpProtocol) and not c._evicted and not c._force_close
        ]
        if len(connections) <= self._max_connections:
            return
        idle = [c for c in connections if c is not self and c.idle]
        if idle:
            victim = min(idle, key=lambda c: c._last_active)
            victim._evicted = True
            victim.force_close()
            _refusals.warning(
                "connection_cap",
                f"{len(connections)} connections open (cap {self._max_connections}): closing the longest idle",
                cap=self._max_connections,
            )
            return
        self._evicted = True
        _refusals.warning(
            "connection_cap",
            f"{len(connections)} busy connections (cap {self._max_connections}): refusing new ones with 503",
            cap=self._max_connections,
        )
        transport = self.transport
        if transport is not None:
            error = ServiceUnavailable(
                "Too many connections: try again shortly", details={"reason": "connections", "retryAfter": 1}
            )
            transport.write(_raw_envelope(error, retry_after=1))
        self.hang_up()

    @property
    def idle(self) -> bool:
        """Open, upgraded to nothing, and between requests: closing it loses no work."""
        return (
            self.transport is not None
            and not self._upgraded
            and not self._force_close
            and self._between_requests()
            and self._payload_parser is None
        )

    # -- the header deadline ----------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        if self._hanging_up:
            return  # read and dropped: see LINGER
        if self._first_byte_clock is not None:
            self._first_byte_clock.cancel()
            self._first_byte_clock = None
        self._last_active = self._loop.time()
        parsed = self._request_count
        super().data_received(data)
        if self._request_count != parsed:
            if self._header_clock is not None:
                self._stop_header_clock()
        elif self._header_clock is None and data and self._between_requests():
            self._messages_at_clock = parsed
            self._header_clock = self._loop.call_later(self._header_timeout, self._headers_overdue)

    def _between_requests(self) -> bool:
        # Bytes that arrive while no request is queued or running start a new request's headers.
        return not self._messages and not self._request_in_progress and self._current_request is None

    def _stop_header_clock(self) -> None:
        if self._header_clock is not None:
            self._header_clock.cancel()
            self._header_clock = None

    def _headers_overdue(self) -> None:
        self._header_clock = None
        if self._request_count != self._messages_at_clock or not self._between_requests():
            return  # the clock was started by a body's tail; a request is being handled
        transport = self.transport
        if transport is not None and not transport.is_closing():
            logger.info("closed a connection whose request headers took over {}s", self._header_timeout)
            transport.write(_raw_envelope(RequestTimeout(f"Request headers took over {self._header_timeout}s")))
        self.hang_up()

    def hang_up(self) -> None:
        """After a last response: close the write side now, drop further input, close for good after LINGER."""
        self._hanging_up = True
        self._stop_header_clock()
        self._lingering_time = min(self._lingering_time, LINGER)  # aiohttp's read of an unread body's rest
        transport = self.transport
        if transport is not None and not transport.is_closing() and transport.can_write_eof():
            transport.write_eof()
        self._loop.call_later(LINGER, self.force_close)

    def connection_lost(self, exc: BaseException | None) -> None:
        self._stop_header_clock()
        if self._first_byte_clock is not None:
            self._first_byte_clock.cancel()
            self._first_byte_clock = None
        super().connection_lost(exc)

    # -- WebSocket: masked client frames only -----------------------------------------------------

    def set_parser(self, parser: Any, data_received_cb: Callable[[], None] | None = None) -> None:
        super().set_parser(_MaskCheck(parser, self._unmasked_frame), data_received_cb)  # type: ignore[arg-type]

    def _unmasked_frame(self) -> None:
        logger.info("WebSocket closed (1002): the client sent an unmasked frame")
        transport = self.transport
        if transport is not None and not transport.is_closing():
            transport.write(_CLOSE_PROTOCOL_ERROR)
        reader = self._payload_parser
        queue = getattr(getattr(reader, "reader", None), "queue", None)
        if queue is not None:
            from aiohttp import WebSocketError

            queue.set_exception(WebSocketError(1002, "unmasked frame"))
        self.hang_up()

    # -- responses --------------------------------------------------------------------------------

    async def finish_response(
        self, request: web.BaseRequest, resp: web.StreamResponse, start_time: float | None
    ) -> tuple[web.StreamResponse, bool]:
        self._stop_header_clock()
        if self._draining:
            resp.force_close()
        result = await super().finish_response(request, resp, start_time)
        self._last_active = self._loop.time()
        return result

    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        """Unparseable requests (400) and errors of non-command routes (500) as JSON envelopes.

        The message never carries the client's bytes nor the parser's words: a stable ``reason`` says
        what was wrong (``bad_status_line``, ``invalid_header``, ``line_too_long``...).
        """
        if isinstance(exc, ConnectionError):
            raise exc  # the client left: aiohttp drops the connection quietly
        if request.writer.output_size > 0:
            raise ConnectionError("Response is sent already, cannot send another response with the error message")
        error: BetrueError
        if status >= 500:
            logger.opt(exception=exc).error("unhandled error in HTTP route {}", request.path)
            error = InternalError()
        elif status == 400:
            error = ValidationError("Malformed HTTP request", details={"reason": _parse_error_reason(exc)})
        else:
            error = error_for_code(status)()
        response = envelope_response(error, os.urandom(16).hex())
        response.force_close()
        return response

    def log_exception(self, *args: Any, **kw: Any) -> None:
        error = kw.get("exc_info")
        if isinstance(error, web.RequestPayloadError | ConnectionError):
            return  # a broken body or a client gone: already answered (400) or nobody left to answer
        message = str(args[0]) % args[1:] if len(args) > 1 else str(args[0])
        logger.opt(exception=error).error("aiohttp: {}", message)

    # -- shutdown ---------------------------------------------------------------------------------

    def drain(self) -> bool:
        """Stop taking requests on this connection: busy ones close after their response, idle ones soon.

        Answers True when the connection is idle but served a request within ``DRAIN_WINDOW``: its client
        may be sending the next one, so the caller waits that long before ``close_idle``.
        """
        self._draining = True
        self._stop_header_clock()
        if self.idle:
            if self._request_count and self._loop.time() - self._last_active < DRAIN_WINDOW:
                return True
            self.force_close()  # idle: nothing to finish (aiohttp's close() would leave the socket open)
        return False

    def close_idle(self) -> None:
        """Close this connection if it is (still) idle: the end of the drain window."""
        if self.idle:
            self.force_close()


class ListeningSite(web.BaseSite):
    """A TCP site whose connections use ``HttpProtocol`` (aiohttp's TCPSite always uses its own)."""

    def __init__(
        self,
        runner: web.BaseRunner,
        host: str,
        port: int,
        *,
        header_timeout: float,
        idle_timeout: float = 0.0,
        max_connections: int = 0,
        **protocol: Any,
    ) -> None:
        super().__init__(runner)
        self.host = host
        self.requested_port = port
        self.port = port
        self._header_timeout = header_timeout
        self._idle_timeout = idle_timeout
        self._max_connections = max_connections
        self._protocol = protocol

    @property
    def name(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def _make_protocol(self) -> HttpProtocol:
        manager = self._runner.server
        assert manager is not None, "runner.setup() runs before the site starts"
        return HttpProtocol(
            manager,
            loop=asyncio.get_running_loop(),
            header_timeout=self._header_timeout,
            idle_timeout=self._idle_timeout,
            max_connections=self._max_connections,
            **self._protocol,
        )

    async def start(self) -> None:
        await super().start()
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            self._make_protocol, self.host, self.requested_port, reuse_address=True, backlog=1024
        )
        self._server = server
        self.port = server.sockets[0].getsockname()[1]

    async def drain(self) -> None:
        """Tell every open connection to finish its current response and close; idle ones after the window."""
        manager = self._runner.server
        waiting = [
            connection
            for connection in (manager.connections if manager is not None else ())
            if isinstance(connection, HttpProtocol) and connection.drain()
        ]
        if waiting:
            await asyncio.sleep(DRAIN_WINDOW)
            for connection in waiting:
                connection.close_idle()
