"""A Python client of a betrue WebSocket endpoint: calls matched by id, pushes collected in a queue."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Mapping
from types import TracebackType
from typing import Any

import aiohttp

from betrue.server import GatewayTimeout, ServiceUnavailable, decode_json, encode_json, error_from_envelope

__all__ = ["WsClient"]


class WsClient:
    """Connects to ``url`` (``http://…/ws`` or ``ws://…/ws``) and speaks the betrue WebSocket format.

    Used by the tests and benchmarks, and by any Python program (a bot, a service) that wants server
    pushes. Every call gets its own id, so many can be in flight at once.

    Example:
        >>> async def main(url: str) -> None:  # doctest: +SKIP
        ...     async with WsClient(url) as ws:
        ...         print(await ws.call("_app/health"))  # {'status': 'ok', 'app': 'chat'}
        ...         event = await ws.next_event("chat.message", timeout=5)
    """

    def __init__(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        session: aiohttp.ClientSession | None = None,
        timeout: float = 10.0,
        max_message: int = 4 * 1024 * 1024,
    ) -> None:
        self.url = url
        self.headers = dict(headers or {})
        self.timeout = timeout
        self.max_message = max_message
        self.events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        """Pushes as they arrive: ``{"event": name, "data": ...}``."""
        self.unmatched: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        """Answers no call of this client waits for: errors about malformed frames (``id`` null), replies to
        frames sent with ``send_raw``."""
        self._session = session
        self._own_session = session is None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task[None] | None = None
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._ids = itertools.count(1)

    async def connect(self) -> WsClient:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        self._ws = await self._session.ws_connect(
            self.url, headers=self.headers, max_msg_size=self.max_message, timeout=aiohttp.ClientWSTimeout(ws_close=5)
        )
        self._reader = asyncio.get_running_loop().create_task(self._read())
        return self

    async def __aenter__(self) -> WsClient:
        return await self.connect()

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    @property
    def ws(self) -> aiohttp.ClientWebSocketResponse:
        if self._ws is None:
            raise RuntimeError("WsClient is not connected: use `async with WsClient(url)` or `await connect()`")
        return self._ws

    @property
    def close_code(self) -> int | None:
        return self._ws.close_code if self._ws is not None else None

    async def call(
        self, command: str, params: Any = None, *, meta: Mapping[str, str] | None = None, timeout: float | None = None
    ) -> Any:
        """Call ``command``; return its result or raise its error as the same ``BetrueError`` class."""
        envelope = await self.call_envelope(command, params, meta=meta, timeout=timeout)
        if "error" in envelope:
            raise error_from_envelope(envelope)
        return envelope.get("result")

    async def call_envelope(
        self, command: str, params: Any = None, *, meta: Mapping[str, str] | None = None, timeout: float | None = None
    ) -> dict[str, Any]:
        """Call ``command`` and return the whole answer (envelope plus ``id``)."""
        call_id = next(self._ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[call_id] = future
        frame: dict[str, Any] = {"id": call_id, "command": command, "params": params if params is not None else {}}
        if meta:
            frame["meta"] = dict(meta)
        try:
            await self.ws.send_str(encode_json(frame).decode())
            async with asyncio.timeout(timeout if timeout is not None else self.timeout):
                return await future
        except TimeoutError:
            raise GatewayTimeout(f"no answer to {command} within the timeout") from None
        finally:
            self._pending.pop(call_id, None)

    async def send_raw(self, data: str | bytes) -> None:
        """Send a frame as it is (text for str, binary for bytes): for testing how the server copes."""
        if isinstance(data, bytes):
            await self.ws.send_bytes(data)
        else:
            await self.ws.send_str(data)

    async def next_event(self, name: str | None = None, *, timeout: float | None = None) -> dict[str, Any]:
        """The next push (of ``name``; pushes of other names are dropped while waiting).

        Raises:
            TimeoutError: no such push within ``timeout`` seconds (None: the client's ``timeout``), including
                when the server closed the connection meanwhile (``close_code`` then says why).
        """
        async with asyncio.timeout(timeout if timeout is not None else self.timeout):
            while True:
                event = await self.events.get()
                if name is None or event.get("event") == name:
                    return event

    async def wait_closed(self, timeout: float | None = None) -> int | None:
        """Wait until the server closes the connection; returns the close code."""
        if self._reader is not None:
            async with asyncio.timeout(timeout if timeout is not None else self.timeout):
                await asyncio.shield(self._reader)
        return self.close_code

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        if self._own_session and self._session is not None:
            await self._session.close()
            self._session = None

    async def _read(self) -> None:
        ws = self.ws
        try:
            async for message in ws:
                if message.type is not aiohttp.WSMsgType.TEXT:
                    continue
                body = decode_json(message.data)
                if "event" in body and "id" not in body:
                    self.events.put_nowait(body)
                    continue
                future = self._pending.get(body.get("id"))
                if future is not None and not future.done():
                    future.set_result(body)
                else:
                    self.unmatched.put_nowait(body)
        finally:
            lost = ServiceUnavailable("connection closed", details={"close_code": ws.close_code})
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(lost)
