"""One connection's incoming side: read frames, run the calls concurrently, answer each by its id."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Mapping
from typing import TYPE_CHECKING

from aiohttp import WSMsgType
from loguru import logger

from betrue.server import (
    BetrueError,
    Conflict,
    InternalError,
    Response,
    TooManyRequests,
    UnsupportedMediaType,
    new_trace_id,
    trace_id_from,
)
from betrue.ws.protocol import BadFrame, Call, CallId, answer_frame, error_frame, parse_call

if TYPE_CHECKING:
    from betrue.server import Application
    from betrue.ws.connection import Connection

__all__ = ["Session"]


class Session:
    """Runs the calls of one connection: each call is its own task, so answers may come out of order.

    More than ``max_inflight`` calls at once are answered 429 at once (rather than read later), so the
    connection keeps reading and its heartbeat keeps working however busy it is.
    """

    def __init__(
        self,
        app: Application,
        connection: Connection,
        *,
        max_inflight: int,
        base_meta: Mapping[str, str] | None = None,
    ) -> None:
        self.app = app
        self.connection = connection
        self.max_inflight = max_inflight
        self.base_meta = dict(base_meta or {})
        self.calls: dict[CallId, asyncio.Task[None]] = {}
        self._log = logger.bind(connection=connection.id)

    async def run(self) -> None:
        """Read until the connection closes (by the client, the heartbeat, a too-big frame or shutdown)."""
        ws = self.connection.ws
        while True:
            message = await ws.receive()
            if message.type is WSMsgType.TEXT:
                self.on_text(message.data)
            elif message.type is WSMsgType.BINARY:
                self.reject(UnsupportedMediaType("Binary frames are not accepted: send calls as JSON text"), None)
            else:  # CLOSE, CLOSING, CLOSED, ERROR (a too-big frame closed it with 1009)
                return

    def on_text(self, data: str | bytes) -> None:
        try:
            call = parse_call(data)
        except BadFrame as bad:
            self.reject(bad.error, bad.call_id)
            return
        if call.id in self.calls:
            self.reject(Conflict("A call with this id is still running", details={"id": call.id}), call.id)
            return
        if len(self.calls) >= self.max_inflight:
            error = TooManyRequests(
                f"More than {self.max_inflight} calls in flight on this connection",
                details={"max_inflight": self.max_inflight},
            )
            self.reject(error, call.id)
            return
        task = asyncio.get_running_loop().create_task(self._call(call))
        self.calls[call.id] = task
        task.add_done_callback(functools.partial(self._finished, call.id))

    def _finished(self, call_id: CallId, _: asyncio.Task[None]) -> None:
        self.calls.pop(call_id, None)

    def reject(self, error: BetrueError, call_id: CallId | None) -> None:
        """Answer a frame that is not a runnable call; the connection stays open."""
        trace_id = new_trace_id()
        self._log.bind(trace_id=trace_id).info("WebSocket frame refused: {} {}", error.status, error.message)
        self.connection.push(error_frame(error, call_id, trace_id))

    async def _call(self, call: Call) -> None:
        connection = self.connection
        trace_id = trace_id_from(call.meta)
        meta = {**self.base_meta, **call.meta} if self.base_meta else call.meta
        try:
            response = await self.app.handle(
                call.command,
                call.params,
                meta,
                adapter="ws",
                identity=connection.identity,
                connection=connection,
                trace_id=trace_id,
            )
        except Exception:  # handle() answers every failure itself; this is the net under a bug in it
            self._log.bind(trace_id=trace_id).opt(exception=True).error("call {} failed outside its pipeline", call.id)
            response = Response.from_error(InternalError(f"Internal error (trace id {trace_id})"))
        # The tracing stage may have replaced a generated id with its span's: the response knows the final one.
        connection.push(self._answer(call.id, response, response.trace_id or trace_id))

    def _answer(self, call_id: CallId, response: Response, trace_id: str) -> bytes:
        if response.stream is not None:
            error: BetrueError = UnsupportedMediaType("This command answers a stream: call it over HTTP")
            return error_frame(error, call_id, trace_id)
        try:
            return answer_frame(call_id, response.envelope(trace_id))
        except TypeError:
            self._log.bind(trace_id=trace_id).opt(exception=True).error("cannot encode the answer of call {}", call_id)
            return error_frame(InternalError(f"Internal error (trace id {trace_id})"), call_id, trace_id)

    async def wait(self, timeout: float) -> None:
        """Wait (up to ``timeout``) for the calls still running."""
        if self.calls:
            await asyncio.wait(list(self.calls.values()), timeout=timeout)
