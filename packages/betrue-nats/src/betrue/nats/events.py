"""NatsEventBus: events on ``<prefix>.evt.<event>``, received by every instance (no queue group)."""

from __future__ import annotations

import asyncio
from typing import Any

import nats.errors
from loguru import logger
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription as NatsSubscription
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind

from betrue.config import Config, env
from betrue.nats.connection import NatsConnection
from betrue.nats.subjects import event_subject, events_wildcard
from betrue.server import BetrueError, decode_json, encode_json
from betrue.server.ext import Event, EventBus, EventCallback, Subscription, name_matches

__all__ = ["NatsEventBus", "NatsEventsConfig"]


class NatsEventsConfig(Config):
    """NATS event bus"""

    pending_messages: int = env(
        "NATS_EVENTS_PENDING",
        65536,
        description="Events received but not yet dispatched before NATS drops them as a slow consumer",
        ge=1,
    )
    drain_timeout: float = env(
        "NATS_EVENTS_DRAIN_TIMEOUT", 5.0, description="Seconds stop() waits for deliveries in flight", ge=0
    )


class NatsEventBus(EventBus):
    """The ``events`` service across processes: every instance receives every event and dispatches it locally.

    Core NATS is **at most once**: an event published while this process is disconnected is dropped
    (not kept and sent late), one published while a receiver is disconnected never reaches it, and a
    receiver too slow to keep up loses events (slow consumer). Each loss is counted in ``dropped``.
    What must arrive goes through a job (``ctx.enqueue``).

    Example:
        >>> from betrue.server import Application
        >>> from betrue.nats import NatsConnection
        >>> app = Application("chat")
        >>> _ = app.add_service(NatsConnection)
        >>> _ = app.replace_service("events", NatsEventBus)
        >>> # ctx.emit("chat.message", data, to={"room": "r1"}) now reaches the WebSocket clients of every instance
    """

    name = "events"
    deps = ("nats", "telemetry")
    config_class = NatsEventsConfig

    def __init__(self, config: NatsEventsConfig | None = None, **deps: Any) -> None:
        self.config = config if config is not None else NatsEventsConfig.from_dict({})
        self.nats: NatsConnection = deps["nats"]
        telemetry = deps.get("telemetry")
        self.tracer: trace.Tracer = telemetry.tracer if telemetry is not None else trace.get_tracer("betrue.nats")
        self._subscribers: list[tuple[str, EventCallback]] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._subscription: NatsSubscription | None = None
        self.published = 0
        self.received = 0
        self.dropped = 0
        """Events lost on this side: published while disconnected, malformed, or dropped as a slow consumer."""

    async def start(self) -> NatsEventBus:
        self.nats.on_error.append(self._on_nats_error)
        self._subscription = await self.nats.client.subscribe(
            events_wildcard(self.nats.prefix), cb=self._on_message, pending_msgs_limit=self.config.pending_messages
        )
        await self.nats.client.flush()
        return self

    def subscribe(self, pattern: str, callback: EventCallback) -> Subscription:
        entry = (pattern, callback)
        self._subscribers.append(entry)
        return Subscription(pattern, lambda: self._subscribers.remove(entry) if entry in self._subscribers else None)

    async def publish(self, event: Event) -> None:
        """Send the event to every instance (this one included, through NATS); dropped and counted when down."""
        if not self.nats.connected:  # reconnecting, or not started / stopped
            self.dropped += 1
            logger.warning("NATS is down: event {} dropped (events are at most once)", event.name)
            return
        client = self.nats.client
        subject = event_subject(self.nats.prefix, event.name)
        with self.tracer.start_as_current_span(f"{event.name} publish", kind=SpanKind.PRODUCER) as span:
            headers: dict[str, str] = {}
            if span.is_recording():
                span.set_attribute("messaging.system", "nats")
                span.set_attribute("messaging.destination.name", subject)
                propagate.inject(headers)  # W3C traceparent of the producer span, in the NATS headers and the meta
                event = Event(event.name, event.data, event.to, {**event.meta, **headers})
            await self._send(client, subject, event, headers)

    async def _send(self, client: Any, subject: str, event: Event, headers: dict[str, str]) -> None:
        body = encode_json(event.to_dict())
        try:
            await client.publish(subject, body, headers=headers or None)
        except (
            nats.errors.ConnectionClosedError,
            nats.errors.ConnectionDrainingError,
            nats.errors.OutboundBufferLimitError,
            nats.errors.MaxPayloadError,
        ):
            self.dropped += 1
            logger.opt(exception=True).warning("event {} dropped", event.name)
            return
        self.published += 1

    async def _on_message(self, msg: Msg) -> None:
        try:
            event = Event.from_dict(decode_json(msg.data))
        except (BetrueError, KeyError, TypeError, ValueError, AttributeError):
            self.dropped += 1
            logger.warning("malformed event on {} dropped", msg.subject)
            return
        self.received += 1
        parent = propagate.extract(msg.headers or {})
        token = otel_context.attach(parent)
        try:
            with self.tracer.start_as_current_span(f"{event.name} receive", kind=SpanKind.CONSUMER) as span:
                if span.is_recording():
                    span.set_attribute("messaging.system", "nats")
                    span.set_attribute("messaging.destination.name", msg.subject)
                for pattern, callback in self._subscribers:
                    if name_matches(pattern, event.name):
                        task = asyncio.create_task(self._deliver(callback, event))  # runs in the consumer span
                        self._tasks.add(task)
                        task.add_done_callback(self._tasks.discard)
        finally:
            otel_context.detach(token)

    async def _deliver(self, callback: EventCallback, event: Event) -> None:
        try:
            await callback(event)
        except Exception:
            logger.opt(exception=True).error("subscriber of event {} failed", event.name)

    def _on_nats_error(self, error: Exception) -> None:
        subscription = self._subscription
        if (
            isinstance(error, nats.errors.SlowConsumerError)
            and subscription is not None
            and getattr(error, "sid", None) == getattr(subscription, "_id", None)
        ):
            self.dropped += 1

    def extend_asyncapi(self, document: dict[str, Any], events: list[str]) -> None:
        """Add the NATS server and one channel per declared event (``<prefix>.evt.<event>``) to an AsyncAPI document."""
        servers = document.setdefault("servers", {})
        for index, url in enumerate(self.nats.servers):
            host = url.split("://", 1)[-1]
            servers["nats" if index == 0 else f"nats-{index}"] = {
                "host": host,
                "protocol": "nats",
                "description": "NATS: events for every instance (at most once), commands in queue groups",
            }
        refs = [{"$ref": f"#/servers/{name}"} for name in servers if name.startswith("nats")]
        messages = document["components"]["messages"]
        for name in events:
            pushed = messages.get(name, {}).get("payload", {}).get("properties", {}).get("data", {})
            key = f"nats.{name}"
            messages[key] = {
                "name": key,
                "title": f"{name} on NATS",
                "payload": {
                    "type": "object",
                    "required": ["event", "data"],
                    "properties": {
                        "event": {"const": name},
                        "data": pushed,
                        "to": {"type": ["object", "null"], "description": "Which connections a push goes to"},
                        "meta": {"type": "object", "additionalProperties": {"type": "string"}},
                    },
                },
            }
            channel = f"nats.evt.{name}"
            document["channels"][channel] = {
                "address": event_subject(self.nats.prefix, name),
                "title": f"{name} (NATS)",
                "servers": refs,
                "messages": {key: {"$ref": f"#/components/messages/{key}"}},
            }
            document["operations"][f"nats.publish.{name}"] = {
                "action": "send",
                "channel": {"$ref": f"#/channels/{channel}"},
                "summary": f"Every instance publishes {name} here and every instance receives it (at most once)",
                "messages": [{"$ref": f"#/channels/{channel}/messages/{key}"}],
            }

    async def stop(self) -> None:
        """Stop receiving, then wait up to the drain timeout for deliveries in flight."""
        if self._on_nats_error in self.nats.on_error:
            self.nats.on_error.remove(self._on_nats_error)
        subscription, self._subscription = self._subscription, None
        if subscription is not None and self.nats.connected:
            try:
                await subscription.unsubscribe()
            except Exception as error:
                logger.warning("NATS: unsubscribe of events failed ({})", error)
        if self._tasks:
            _, late = await asyncio.wait(list(self._tasks), timeout=self.config.drain_timeout)
            for task in late:
                task.cancel()
