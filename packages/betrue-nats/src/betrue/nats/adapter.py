"""The NATS adapter (service ``nats-adapter``): the app's commands served as NATS request/reply, in a queue group."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

import nats.errors
from loguru import logger
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from betrue.config import Config, env
from betrue.nats.connection import NatsConnection
from betrue.nats.discovery import Announcer
from betrue.nats.headers import deadline_of, meta_from_headers
from betrue.nats.metrics import NatsMetrics
from betrue.nats.stats import SubjectTable
from betrue.nats.subjects import app_token, code_from_subject, commands_wildcard, queue_group
from betrue.server import (
    BetrueError,
    GatewayTimeout,
    InternalError,
    PayloadTooLarge,
    Response,
    ServiceUnavailable,
    UnsupportedMediaType,
    decode_json,
    encode_json,
)
from betrue.server.ext import Adapter

if TYPE_CHECKING:
    from betrue.server import Application

__all__ = ["NatsAdapter", "NatsAdapterConfig", "error_envelope"]


def error_envelope(error: BetrueError, trace_id: str | None) -> dict[str, Any]:
    """The envelope of an error answered without running the command."""
    return Response.from_error(error).envelope(trace_id)


class NatsAdapterConfig(Config):
    """NATS adapter"""

    app: str = env("NATS_APP", "", description="App token in command subjects and queue group; empty: the app's name")
    max_inflight: int = env(
        "NATS_MAX_INFLIGHT", 1000, description="Calls run at once; past it a call is answered 503 at once", ge=1
    )
    pending_messages: int = env(
        "NATS_PENDING_MESSAGES",
        65536,
        description="Messages the subscription may hold before NATS drops them as a slow consumer",
        ge=1,
    )
    announce: bool = env(
        "NATS_ANNOUNCE",
        True,
        description="Announce the app on <prefix>.discovery.* (gateways with GATEWAY_UPSTREAMS=nats)",
    )


class NatsAdapter(Adapter):
    """Serves every command on ``<prefix>.cmd.<app>.<code with / as .>`` in the queue group ``<prefix>.<app>``.

    N instances of one app share the calls; each call runs on one of them. The caller's deadline
    (``x-timeout-ms`` / ``x-deadline-ms``) is enforced before the call runs and while it runs: a call
    that arrives late is answered 504 and never executed. Params are the JSON payload, meta the
    headers, the reply is the envelope. ``stats`` counts calls and latencies per subject.

    Example:
        >>> from betrue.server import Application
        >>> from betrue.nats import NatsConnection
        >>> app = Application("chat", http=False)
        >>> _ = app.add_service(NatsConnection)
        >>> _ = app.add_service(NatsAdapter)
        >>> # await app.start(): chat/send is served on betrue.cmd.chat.chat.send
    """

    name = "nats-adapter"
    deps = ("nats", "telemetry")
    config_class = NatsAdapterConfig
    config: NatsAdapterConfig

    def __init__(self, config: NatsAdapterConfig | None = None, **deps: Any) -> None:
        super().__init__(config if config is not None else NatsAdapterConfig.from_dict({}), **deps)
        self.nats: NatsConnection = deps["nats"]
        self.telemetry = deps.get("telemetry")
        self.metrics = NatsMetrics.of(None)
        self.app: Application | None = None
        self.app_name = ""
        self.subject = ""
        self.stats = SubjectTable()
        self.running = 0
        """Calls running now (at most ``NATS_MAX_INFLIGHT``)."""
        self._subscription: Subscription | None = None
        self.announcer: Announcer | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._codes: dict[str, str] = {}

    async def serve(self, app: Application) -> None:
        self.app = app
        self.metrics = NatsMetrics.of(self.telemetry)
        self.app_name = app_token(self.config.app or app.name)
        prefix = self.nats.prefix
        self.subject = commands_wildcard(prefix, self.app_name)
        self._subscription = await self.nats.client.subscribe(
            self.subject,
            queue=queue_group(prefix, self.app_name),
            cb=self._on_message,
            pending_msgs_limit=self.config.pending_messages,
        )
        self.nats.on_error.append(self._on_nats_error)
        await self.nats.client.flush()  # the server knows the subscription before the app says it is up
        if self.config.announce:
            self.announcer = Announcer(self.nats, app, self.app_name)
            await self.announcer.start()
        logger.info("NATS serving {} (queue group {})", self.subject, queue_group(prefix, self.app_name))

    async def _on_message(self, msg: Msg) -> None:
        # nats-py awaits callbacks one by one: hand each call to its own task and return at once.
        if not msg.reply:
            self.stats.no_reply += 1
            return
        task = asyncio.create_task(self._serve_call(msg))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _serve_call(self, msg: Msg) -> None:
        assert self.app is not None
        started = time.perf_counter()
        meta = meta_from_headers(msg.headers)
        trace_id = meta.get("x-trace-id")
        refused: dict[str, Any] | None = None
        try:
            deadline = deadline_of(meta)
        except BetrueError as unreadable:  # x-timeout-ms of 0, negative or not a number: 400, never run
            deadline, refused = None, error_envelope(unreadable, trace_id)
        code = self._codes.get(msg.subject)
        if code is None:
            code = code_from_subject(self.nats.prefix, self.app_name, msg.subject)
            if len(self._codes) < 4096:  # subjects come from callers: bounded
                self._codes[msg.subject] = code
        envelope: dict[str, Any]
        if refused is not None:
            self.metrics.refuse("bad_timeout")
            envelope = refused
        elif deadline is not None and deadline <= time.time():
            self.stats.expired += 1
            self.metrics.refuse("deadline")
            envelope = error_envelope(
                GatewayTimeout("the caller's deadline passed before the call arrived", details={"reason": "deadline"}),
                trace_id,
            )
        elif self.running >= self.config.max_inflight:
            self.stats.busy += 1
            self.metrics.refuse("busy")
            busy = ServiceUnavailable(
                f"{self.app_name} is running {self.config.max_inflight} calls", details={"reason": "busy"}
            )
            envelope = error_envelope(busy, trace_id)
        else:
            self.running += 1
            try:
                envelope = await self._run(code, msg.data, meta, deadline, trace_id)
            finally:
                self.running -= 1
        body = self._encode(envelope, code, trace_id)
        seconds, answered = time.perf_counter() - started, int(envelope.get("code", 500))
        self.stats.add(msg.subject, seconds, answered)
        if self.metrics.recording:
            self.metrics.call(msg.subject, answered, seconds)
        try:
            await msg.respond(body)
        except Exception as error:
            logger.warning("NATS: answer to {} not sent ({}: {})", code, type(error).__name__, error)

    async def _run(
        self, code: str, data: bytes, meta: dict[str, str], deadline: float | None, trace_id: str | None
    ) -> dict[str, Any]:
        assert self.app is not None
        try:
            params = decode_json(data) if data else {}
        except BetrueError as error:
            return error_envelope(error, trace_id)
        response = await self.app.handle(code, params, meta, adapter="nats", deadline=deadline)
        if response.stream is not None:
            unsupported = UnsupportedMediaType(f"{code} answers a stream, which NATS does not carry; call it over HTTP")
            return error_envelope(unsupported, response.trace_id)
        return response.envelope()

    def _encode(self, envelope: dict[str, Any], code: str, trace_id: str | None) -> bytes:
        try:
            body = encode_json(envelope)
        except TypeError:
            body = encode_json(
                error_envelope(InternalError(f"Result of {code} is not JSON (trace id {trace_id})"), trace_id)
            )
        limit = self.nats.client.max_payload
        if len(body) > limit:
            too_large = PayloadTooLarge(
                f"the answer of {code} ({len(body)} bytes) exceeds the NATS max_payload ({limit} bytes)",
                details={"reason": "answer_too_large", "limit": limit},
            )
            body = encode_json(error_envelope(too_large, trace_id))
        return body

    def _on_nats_error(self, error: Exception) -> None:
        subscription = self._subscription
        if (
            isinstance(error, nats.errors.SlowConsumerError)
            and subscription is not None
            and getattr(error, "sid", None) == getattr(subscription, "_id", None)
        ):
            # nats-py dropped a call it could not queue: its caller gets 504 at its deadline.
            self.stats.dropped += 1
            self.metrics.refuse("dropped")

    async def close_listeners(self) -> None:
        """Stop taking calls: say bye (discovery), then drain the subscription (what was sent still runs)."""
        if self._on_nats_error in self.nats.on_error:
            self.nats.on_error.remove(self._on_nats_error)
        announcer, self.announcer = self.announcer, None
        if announcer is not None:
            await announcer.stop()
        subscription, self._subscription = self._subscription, None
        if subscription is not None and self.nats.connected:
            try:
                await subscription.drain()  # type: ignore[no-untyped-call]
            except Exception as error:
                logger.warning("NATS: drain of {} failed ({})", self.subject, error)

    async def close(self) -> None:
        """Wait for the calls that are left (the app's grace period has passed or they are done)."""
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=5.0)
