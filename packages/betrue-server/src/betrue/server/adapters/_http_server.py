"""The connection side of the HTTP adapter: aiohttp's protocol with a header deadline, and its listening site.

aiohttp cuts a client that dribbles its headers only when the keep-alive timer runs out (3630 s by default
for an ``AppRunner``, 75 s under ``web.run_app``), and renders protocol errors as text/plain. This protocol
starts a clock at the first byte of a request, answers 408 and closes when the headers are not complete in
time, renders protocol errors as JSON envelopes, and lets a shutdown close idle keep-alive connections
while busy ones finish their response first.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from aiohttp import web
from loguru import logger

from betrue.server.errors import BetrueError, InternalError, RequestTimeout, ValidationError, error_for_code
from betrue.server.response import error_envelope
from betrue.server.wire import encode_json

__all__ = ["HttpProtocol", "ListeningSite", "envelope_response"]

LINGER = 1.0
"""Seconds a connection we hang up on keeps reading (and dropping) what the client still sends.

Closing a socket with unread input makes the kernel answer with a reset, which can destroy the response
before the client reads it; so the write side closes first (the client sees the answer, then EOF) and the
read side a little later.
"""


def envelope_response(error: BetrueError, trace_id: str) -> web.Response:
    """A JSON error envelope as an aiohttp response, with the trace id header."""
    body = encode_json(error_envelope(error, trace_id))
    return web.Response(
        body=body, status=error.code, headers={"Content-Type": "application/json", "x-trace-id": trace_id}
    )


def _raw_envelope(error: BetrueError) -> bytes:
    """A whole HTTP/1.1 response, written straight to the socket when no request object exists yet."""
    trace_id = os.urandom(16).hex()
    body = encode_json(error_envelope(error, trace_id))
    head = (
        f"HTTP/1.1 {error.code} {error.status}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nx-trace-id: {trace_id}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


class HttpProtocol(web.RequestHandler):
    """aiohttp's request handler plus a header deadline, JSON protocol errors and a draining mode."""

    __slots__ = ("_draining", "_hanging_up", "_header_clock", "_header_timeout", "_messages_at_clock")

    def __init__(self, manager: web.Server, *, header_timeout: float, **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        self._header_timeout = header_timeout
        self._header_clock: asyncio.TimerHandle | None = None
        self._messages_at_clock = 0
        self._draining = False
        self._hanging_up = False

    # -- the header deadline ----------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        if self._hanging_up:
            return  # read and dropped: see LINGER
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
        super().connection_lost(exc)

    # -- responses --------------------------------------------------------------------------------

    async def finish_response(
        self, request: web.BaseRequest, resp: web.StreamResponse, start_time: float | None
    ) -> tuple[web.StreamResponse, bool]:
        self._stop_header_clock()
        if self._draining:
            resp.force_close()
        return await super().finish_response(request, resp, start_time)

    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        """Unparseable requests (400) and errors of non-command routes (500) as JSON envelopes."""
        if isinstance(exc, ConnectionError):
            raise exc  # the client left: aiohttp drops the connection quietly
        if request.writer.output_size > 0:
            raise ConnectionError("Response is sent already, cannot send another response with the error message")
        error: BetrueError
        if status >= 500:
            logger.opt(exception=exc).error("unhandled error in HTTP route {}", request.path)
            error = InternalError()
        elif status == 400:
            error = ValidationError(f"Malformed HTTP request: {message or 'bad request'}")
        else:
            error = error_for_code(status)(message)
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

    def drain(self) -> None:
        """Stop taking requests on this connection: close it now when idle, else after its response."""
        self._draining = True
        self._stop_header_clock()
        waiter = self._waiter
        if waiter is not None and not waiter.done() and not self._messages and not self._request_in_progress:
            self.force_close()  # idle: nothing to finish (aiohttp's close() would leave the socket open)


class ListeningSite(web.BaseSite):
    """A TCP site whose connections use ``HttpProtocol`` (aiohttp's TCPSite always uses its own)."""

    def __init__(self, runner: web.BaseRunner, host: str, port: int, *, header_timeout: float, **protocol: Any) -> None:
        super().__init__(runner)
        self.host = host
        self.requested_port = port
        self.port = port
        self._header_timeout = header_timeout
        self._protocol = protocol

    @property
    def name(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def _make_protocol(self) -> HttpProtocol:
        manager = self._runner.server
        assert manager is not None, "runner.setup() runs before the site starts"
        return HttpProtocol(
            manager, loop=asyncio.get_running_loop(), header_timeout=self._header_timeout, **self._protocol
        )

    async def start(self) -> None:
        await super().start()
        loop = asyncio.get_running_loop()
        server = await loop.create_server(self._make_protocol, self.host, self.requested_port, reuse_address=True)
        self._server = server
        self.port = server.sockets[0].getsockname()[1]

    def drain(self) -> None:
        """Tell every open connection to finish its current response and close."""
        manager = self._runner.server
        for connection in manager.connections if manager is not None else ():
            if isinstance(connection, HttpProtocol):
                connection.drain()
