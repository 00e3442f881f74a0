"""The HTTP transport: ``POST <target>/api/<code>`` on one pooled aiohttp session per target."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine, Mapping
from typing import Any

import aiohttp
import orjson
from yarl import URL

from betrue.server.client.transports.base import Transport
from betrue.server.deadlines import TIMEOUT_HEADER, Deadlines, timeout_header
from betrue.server.errors import BadGateway, GatewayTimeout, NotFound, ServiceUnavailable, ValidationError
from betrue.server.wire import encode_json

__all__ = ["HttpTransport"]

_URL_CACHE_SIZE = 1024


class HttpTransport(Transport):
    """Calls the betrue app at ``url`` over HTTP, keeping connections alive between calls.

    The caller's deadline becomes the request's total timeout and travels as ``x-timeout-ms`` (the
    remote app stops working on it then). Failures map to the error catalogue: refused or
    unreachable → 503 ``ServiceUnavailable``, broken connection or a body that is not an envelope →
    502 ``BadGateway``, deadline passed → 504 ``GatewayTimeout``. ``details`` names the target and a
    ``reason`` (``connect``, ``broken``, ``not_envelope``, ``too_large``, ``timeout``).

    Example:
        >>> transport = HttpTransport("http://127.0.0.1:3001")
        >>> # envelope = await transport.call("game/load", {"id": 1}, {"x-trace-id": "…"}, time.time() + 2)
        >>> # await transport.close()
    """

    name = "http"
    enforces_deadline = True

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 100,
        connect_timeout: float = 2.0,
        keepalive: float = 15.0,
        max_response: int = 64 * 1024 * 1024,
    ) -> None:
        self.target = url.rstrip("/")
        self.pool_size = pool_size
        self.connect_timeout = connect_timeout
        self.keepalive = keepalive
        self.max_response = max_response
        self._base = URL(self.target)
        self._urls: dict[str, URL] = {}
        self._session: aiohttp.ClientSession | None = None
        # sock_connect bounds opening a new connection only: a pooled one costs no timer.
        self._timeout = aiohttp.ClientTimeout(total=None, sock_connect=connect_timeout)

    @property
    def session(self) -> aiohttp.ClientSession:
        """The pooled session, made on first use (it belongs to the running event loop)."""
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self.pool_size, keepalive_timeout=self.keepalive)
            # No cookie jar: one session serves every caller, and a cookie must not leak between them.
            self._session = aiohttp.ClientSession(
                connector=connector, cookie_jar=aiohttp.DummyCookieJar(), timeout=self._timeout
            )
        return self._session

    def url_for(self, code: str) -> URL:
        url = self._urls.get(code)
        if url is None:
            parts = code.split("/")
            if any(part in {"", ".", ".."} for part in parts):
                raise NotFound("Unknown command", details={"command": code})
            url = self._base.joinpath("api", *parts)
            if len(self._urls) < _URL_CACHE_SIZE:
                self._urls[code] = url
        return url

    def call(
        self, code: str, params: Any, meta: Mapping[str, str], deadline: float | None
    ) -> Coroutine[Any, Any, Mapping[str, Any]]:
        try:
            body = encode_json(params)
        except TypeError as error:
            raise ValidationError(f"params of {code} are not JSON: {error}") from None
        headers = {**meta, "content-type": "application/json"}
        if deadline is not None:
            if deadline <= time.time():
                raise GatewayTimeout("deadline passed before the call was sent", details=self._why("timeout", code))
            headers[TIMEOUT_HEADER] = timeout_header(deadline)
        return self._post(code, body, headers, deadline)

    async def _post(self, code: str, body: bytes, headers: dict[str, str], deadline: float | None) -> Mapping[str, Any]:
        # No timer per call (aiohttp's total timeout would also wrap every read of the answer): the loop's
        # one deadline timer cancels the call when its time is up.
        deadlines = token = None
        if deadline is not None:
            deadlines = Deadlines.current()
            token = deadlines.watch(deadline)
        try:
            async with self.session.post(self.url_for(code), data=body, headers=headers) as reply:
                length = reply.content_length
                raw = await (
                    reply.read() if length is not None and length <= self.max_response else self._read(reply, code)
                )
                status = reply.status
        except asyncio.CancelledError:
            if deadlines is not None and token is not None and deadlines.unwatch(token):
                token = None
                message = f"{code} at {self.target} did not answer in time"
                raise GatewayTimeout(message, details=self._why("timeout", code)) from None
            raise
        except aiohttp.ConnectionTimeoutError:
            message = f"{self.target} did not accept a connection in time"
            raise ServiceUnavailable(message, details=self._why("connect", code)) from None
        except aiohttp.ClientConnectorError as error:
            message = f"{self.target} is unreachable: {error.strerror or error.os_error}"
            raise ServiceUnavailable(message, details=self._why("connect", code)) from None
        except TimeoutError:
            message = f"{code} at {self.target} did not answer in time"
            raise GatewayTimeout(message, details=self._why("timeout", code)) from None
        except aiohttp.ClientError as error:
            message = f"connection to {self.target} broke: {type(error).__name__}"
            raise BadGateway(message, details=self._why("broken", code)) from None
        finally:
            if deadlines is not None and token is not None:
                deadlines.unwatch(token)
        return self._envelope(raw, status, code)

    async def _read(self, reply: aiohttp.ClientResponse, code: str) -> bytes:
        """The answer without a usable Content-Length, read up to the size limit."""
        chunks: list[bytes] = []
        size = 0
        async for chunk in reply.content.iter_any():
            size += len(chunk)
            if size > self.max_response:
                message = f"answer of {code} exceeds {self.max_response} bytes"
                raise BadGateway(message, details=self._why("too_large", code))
            chunks.append(chunk)
        return b"".join(chunks)

    def _envelope(self, raw: bytes, status: int, code: str) -> Mapping[str, Any]:
        try:
            envelope = orjson.loads(raw)
        except orjson.JSONDecodeError:
            envelope = None
        if not isinstance(envelope, dict) or not isinstance(envelope.get("code"), int) or "status" not in envelope:
            details = {**self._why("not_envelope", code), "httpStatus": status}
            raise BadGateway(f"{self.target} answered HTTP {status} without an envelope", details=details)
        return envelope

    def _why(self, reason: str, code: str) -> dict[str, str]:
        return {"reason": reason, "target": self.target, "command": code}

    async def close(self) -> None:
        session, self._session = self._session, None
        if session is not None and not session.closed:
            await session.close()
            await asyncio.sleep(0)  # let the connector's transports finish closing before the loop moves on
