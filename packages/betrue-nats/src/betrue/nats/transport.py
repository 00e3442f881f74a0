"""The NATS transport (``nats://`` routes): a call is a NATS request, the reply is the envelope."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine, Mapping
from typing import Any
from urllib.parse import parse_qs, urlsplit

import nats.errors
import orjson

from betrue.nats.config import NatsConfig
from betrue.nats.connection import NatsConnection
from betrue.nats.headers import request_headers
from betrue.nats.subjects import command_subject
from betrue.server import (
    BadGateway,
    GatewayTimeout,
    PayloadTooLarge,
    ServiceUnavailable,
    ValidationError,
    encode_json,
)
from betrue.server.ext import Transport

__all__ = ["NatsTarget", "NatsTransport", "nats_transport", "parse_target"]

_DEFAULT_TIMEOUT = 30.0
_CONNECT_TIMEOUT = 5.0


class NatsTarget:
    """What a ``nats://`` route names: servers, the app that serves the commands, the subject prefix.

    ``nats://host:4222[,host2:4222]/<app>?prefix=betrue&timeout=30``; without ``<app>`` each command
    goes to the app named like its group (``chat/send`` → app ``chat``).

    Example:
        >>> target = parse_target("nats://127.0.0.1:4222/chat?prefix=acme")
        >>> target.servers, target.app, target.prefix
        (['nats://127.0.0.1:4222'], 'chat', 'acme')
    """

    __slots__ = ("app", "prefix", "servers", "timeout")

    def __init__(self, servers: list[str], app: str, prefix: str, timeout: float) -> None:
        self.servers, self.app, self.prefix, self.timeout = servers, app, prefix, timeout


def parse_target(target: str) -> NatsTarget:
    """Read a ``nats://`` (or ``tls://``) route target; ValueError when it is not one."""
    parts = urlsplit(target)
    if parts.scheme not in {"nats", "tls"} or not parts.netloc:
        raise ValueError(f"not a NATS target: {target!r} (nats://host:4222/<app>)")
    servers = [f"{parts.scheme}://{host}" for host in parts.netloc.split(",") if host]
    query = parse_qs(parts.query)
    app = parts.path.strip("/")
    if "/" in app:
        raise ValueError(f"NATS target {target!r}: the path is one app name")
    timeout = float(query.get("timeout", [_DEFAULT_TIMEOUT])[0])
    return NatsTarget(servers, app, query.get("prefix", ["betrue"])[0], timeout)


class NatsTransport(Transport):
    """Calls commands over NATS request/reply, on a connection of its own made at the first call.

    Fails fast, never buffering a call into the past: while the connection is down a call is answered
    503 at once (nats-py would keep it and send it after reconnecting), no responder → 503 at once,
    the deadline → 504, a connection lost with the call in flight → 502. The deadline travels in the
    headers (``x-timeout-ms``, ``x-deadline-ms``) and the responder does not run a call that arrives late.

    Example:
        >>> transport = NatsTransport("nats://127.0.0.1:4222/chat")
        >>> # envelope = await transport.call("chat/send", {"text": "hi"}, {}, time.time() + 2)
        >>> # await transport.close()
    """

    name = "nats"
    enforces_deadline = True

    def __init__(self, target: str, *, connection: NatsConnection | None = None) -> None:
        """``connection``: a started connection to share (not closed by ``close()``); None: one of its own."""
        self.target = target.rstrip("/")
        self.parsed = parse_target(self.target)
        self._connection = connection
        self._owned = connection is None
        if connection is not None:  # shared (a gateway's discovery): still fail our calls in flight at once
            connection.on_disconnect.append(self._fail_in_flight)
        self._lock = asyncio.Lock()
        self._subjects: dict[str, str] = {}

    @property
    def connection(self) -> NatsConnection | None:
        return self._connection

    def subject(self, code: str) -> str:
        subject = self._subjects.get(code)
        if subject is None:
            app = self.parsed.app or code.split("/", 1)[0]
            subject = self._subjects[code] = command_subject(self.parsed.prefix, app, code)
        return subject

    def call(
        self, code: str, params: Any, meta: Mapping[str, str], deadline: float | None
    ) -> Coroutine[Any, Any, Mapping[str, Any]]:
        try:
            body = encode_json(params)
        except TypeError as error:
            raise ValidationError(f"params of {code} are not JSON: {error}") from None
        if deadline is not None and deadline <= time.time():
            raise GatewayTimeout("deadline passed before the call was sent", details=self._why("timeout", code))
        return self._request(code, body, meta, deadline)

    async def _request(
        self, code: str, body: bytes, meta: Mapping[str, str], deadline: float | None
    ) -> Mapping[str, Any]:
        connection = self._connection
        if connection is None:
            wait = deadline - time.time() if deadline is not None else self.parsed.timeout
            try:
                connection = await asyncio.wait_for(self._connect(code), max(0.001, wait))
            except TimeoutError:
                message = f"no connection to NATS at {self.target} within the call's time"
                raise ServiceUnavailable(message, details=self._why("connect", code)) from None
        client = connection.client
        if not client.is_connected:
            message = f"NATS is {'reconnecting' if client.is_reconnecting else 'disconnected'}; call not sent"
            raise ServiceUnavailable(message, details=self._why("disconnected", code))
        if len(body) > client.max_payload:
            message = f"params of {code} ({len(body)} bytes) exceed the NATS max_payload ({client.max_payload} bytes)"
            raise PayloadTooLarge(message, details={**self._why("too_large", code), "limit": client.max_payload})
        timeout = deadline - time.time() if deadline is not None else self.parsed.timeout
        if timeout <= 0:
            raise GatewayTimeout("deadline passed before the call was sent", details=self._why("timeout", code))
        try:
            reply = await client.request(
                self.subject(code), body, timeout=timeout, headers=request_headers(meta, deadline)
            )
        except nats.errors.NoRespondersError:
            raise ServiceUnavailable(f"no instance serves {code}", details=self._why("no_responders", code)) from None
        except nats.errors.TimeoutError:
            raise GatewayTimeout(f"{code} did not answer in time", details=self._why("timeout", code)) from None
        except nats.errors.ConnectionReconnectingError:
            raise BadGateway(f"NATS connection lost during {code}", details=self._why("broken", code)) from None
        except (
            nats.errors.ConnectionClosedError,
            nats.errors.ConnectionDrainingError,
            nats.errors.OutboundBufferLimitError,
        ) as error:
            message = f"NATS cannot send {code}: {type(error).__name__}"
            raise ServiceUnavailable(message, details=self._why("disconnected", code)) from None
        except nats.errors.MaxPayloadError:
            raise PayloadTooLarge(
                f"params of {code} exceed max_payload", details=self._why("too_large", code)
            ) from None
        return self._envelope(reply.data, code)

    async def _connect(self, code: str) -> NatsConnection:
        async with self._lock:
            if self._connection is None:
                # Credentials, token and TLS as the process's NATS_* variables say; servers from the target.
                config = NatsConfig.load(env_file=()).model_copy(
                    update={"url": self.parsed.servers, "prefix": self.parsed.prefix, "start_timeout": _CONNECT_TIMEOUT}
                )
                connection = NatsConnection(config)
                try:
                    await connection.start()
                except ServiceUnavailable as error:
                    raise ServiceUnavailable(error.message, details=self._why("connect", code)) from None
                connection.on_disconnect.append(self._fail_in_flight)
                self._connection = connection
            return self._connection

    def _fail_in_flight(self) -> None:
        """Calls waiting for an answer when the connection drops get 502 now, not a 504 at their deadline."""
        if self._connection is None:
            return
        pending = getattr(self._connection.client, "_resp_map", None)  # nats-py's futures of requests in flight
        if isinstance(pending, dict):
            for future in list(pending.values()):
                if not future.done():
                    future.set_exception(nats.errors.ConnectionReconnectingError())

    def _envelope(self, raw: bytes, code: str) -> Mapping[str, Any]:
        try:
            envelope = orjson.loads(raw)
        except orjson.JSONDecodeError:
            envelope = None
        if not isinstance(envelope, dict) or not isinstance(envelope.get("code"), int) or "status" not in envelope:
            raise BadGateway(f"the answer of {code} is not an envelope", details=self._why("not_envelope", code))
        return envelope

    def _why(self, reason: str, code: str) -> dict[str, str]:
        return {"reason": reason, "target": self.target, "command": code}

    async def close(self) -> None:
        if self._owned:
            connection, self._connection = self._connection, None
            if connection is not None:
                await connection.stop()


def nats_transport(target: str) -> Transport:
    """The ``betrue.transports`` entry point of scheme ``nats``: ``ROUTES="chat=nats://127.0.0.1:4222"``."""
    return NatsTransport(target)
