"""One trace across HTTP → gateway → NATS → service; producer and consumer spans for events."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from betrue.nats import NatsAdapter, NatsConnection, NatsEventBus
from betrue.server import Application, Event, Group
from betrue.server.testing import TestApp

AppFactory = Callable[..., Awaitable[Application]]


def traced(app: Application, exporter: InMemorySpanExporter) -> Application:
    provider = TracerProvider(resource=Resource.create({"service.name": app.name}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    app.telemetry.use(tracer_provider=provider)
    return app


def chain(spans: tuple[ReadableSpan, ...], trace_id: int) -> set[tuple[str, str, SpanKind]]:
    return {
        (str(span.resource.attributes["service.name"]), span.name, span.kind)
        for span in spans
        if span.context is not None and span.context.trace_id == trace_id
    }


async def test_one_trace_from_http_through_the_gateway_and_nats_to_the_service(
    shared_nats: str, prefix: str, svc_group: Callable[..., Group]
) -> None:
    exporter = InMemorySpanExporter()
    environ = {"NATS_URL": shared_nats, "NATS_PREFIX": prefix, "LOG_LEVEL": "WARNING"}
    service = traced(Application("svc", groups=[svc_group()], http=False, environ=environ, env_file=None), exporter)
    service.add_service(NatsConnection)
    service.add_service(NatsAdapter)
    await service.start()
    try:
        gateway = Application(
            "gw",
            env_file=None,
            environ={"GATEWAY_UPSTREAMS": f"{shared_nats}/svc?prefix={prefix}", "LOG_LEVEL": "WARNING"},
        )
        gateway.proxy()
        async with TestApp(traced(gateway, exporter), http=True) as door:
            reply = await door.post("svc/add", {"a": 1, "b": 2})
    finally:
        await service.stop()
    assert reply.status == 200
    assert reply.envelope["result"] == {"sum": 3}
    spans = chain(exporter.get_finished_spans(), int(reply.envelope["traceId"], 16))
    assert spans == {
        ("gw", "svc/add", SpanKind.SERVER),
        ("gw", "svc/add", SpanKind.CLIENT),
        ("svc", "svc/add", SpanKind.SERVER),
    }


async def test_events_get_producer_and_consumer_spans_in_one_trace(shared_nats: str, prefix: str) -> None:
    exporter = InMemorySpanExporter()
    environ = {"NATS_URL": shared_nats, "NATS_PREFIX": prefix, "LOG_LEVEL": "WARNING"}
    apps = []
    for name in ("a", "b"):
        app = traced(Application(name, http=False, environ=environ, env_file=None), exporter)
        app.add_service(NatsConnection)
        app.replace_service("events", NatsEventBus)
        await app.start()
        apps.append(app)
    got: asyncio.Queue[Event] = asyncio.Queue()

    async def record(event: Event) -> None:
        await got.put(event)

    apps[1].events.subscribe("order.paid", record)
    try:
        await apps[0].emit("order.paid", {"id": 1})
        event = await asyncio.wait_for(got.get(), 10)
    finally:
        for app in apps:
            await app.stop()
    assert event.meta["traceparent"].startswith("00-")
    trace_id = int(event.meta["traceparent"].split("-")[1], 16)
    spans = chain(exporter.get_finished_spans(), trace_id)
    assert ("a", "order.paid publish", SpanKind.PRODUCER) in spans
    assert ("b", "order.paid receive", SpanKind.CONSUMER) in spans
