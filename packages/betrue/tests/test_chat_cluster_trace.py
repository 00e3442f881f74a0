"""One trace across the chat cluster: a browser's call → gateway 1 → NATS → a chat instance → PostgreSQL →
the event on NATS → gateway 2, which pushes it on its WebSocket; checked with the SDK's in-memory exporter."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable

import pytest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from betrue.server import Application
from betrue.ws import WsClient
from examples.chat.shapes import environment, running

NATS_URL = os.environ.get("BETRUE_TEST_NATS_URL", "nats://127.0.0.1:4222")
PASSWORD = "correct horse battery"


def _traced(exporter: InMemorySpanExporter) -> Callable[[str, Application], None]:
    def prepare(label: str, app: Application) -> None:
        provider = TracerProvider(resource=Resource.create({"service.name": label}))
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        app.telemetry.use(tracer_provider=provider)

    return prepare


def _where(span: ReadableSpan) -> str:
    return str(span.resource.attributes["service.name"])


async def test_a_message_is_one_trace_from_the_sender_to_the_other_gateways_push(chat_database: str) -> None:
    exporter = InMemorySpanExporter()
    trace_id = secrets.token_hex(16)  # the browser's trace: what a page with OTel JS would send
    browser = {"traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01"}
    environ = environment(chat_database, NATS_URL)
    async with running("cluster", environ, prepare=_traced(exporter)) as shape:
        ann, bob = WsClient(shape.urls[0] + "/ws"), WsClient(shape.urls[1] + "/ws")
        async with ann, bob:
            await ann.call("user/register", {"name": "ann", "password": PASSWORD})
            await bob.call("user/register", {"name": "bob", "password": PASSWORD})
            await ann.call("chat/join", {"room": "general"})
            await bob.call("chat/join", {"room": "general"})
            await ann.call("chat/send", {"room": "general", "text": "traced"}, meta=browser)
            pushed = await bob.next_event("chat.message", timeout=10)
            assert pushed["data"]["text"] == "traced"
    spans = [span for span in exporter.get_finished_spans() if span.context is not None]
    ours = [span for span in spans if f"{span.context.trace_id:032x}" == trace_id]
    by_id = {span.context.span_id: span for span in ours if span.context is not None}

    def path(span: ReadableSpan) -> list[tuple[str, str, SpanKind]]:
        steps = [(_where(span), span.name, span.kind)]
        while span.parent is not None and span.parent.span_id in by_id:
            span = by_id[span.parent.span_id]
            steps.append((_where(span), span.name, span.kind))
        return list(reversed(steps))

    receive = [s for s in ours if s.name == "chat.message receive" and _where(s) == "gateway-2"]
    assert receive, sorted({(_where(s), s.name) for s in spans})
    steps = path(receive[0])
    assert steps[0] == ("gateway-1", "chat/send", SpanKind.SERVER)  # the browser's call
    kinds = [(where.split("-")[0], kind) for where, _, kind in steps]
    assert ("gateway", SpanKind.CLIENT) in kinds  # gateway 1 → NATS
    assert ("chat", SpanKind.SERVER) in kinds  # the chat instance runs it
    assert ("chat", SpanKind.PRODUCER) in kinds  # the event published on NATS
    assert steps[-1] == ("gateway-2", "chat.message receive", SpanKind.CONSUMER)  # the other gateway pushes it
    database = [s for s in ours if _where(s).startswith("chat-") and s.kind == SpanKind.CLIENT]
    assert any("INSERT" in s.name or "chat_messages" in str(s.attributes) for s in database), [
        (s.name, dict(s.attributes or {})) for s in database
    ]
    print("\n".join(f"{where} {name} {kind.name}" for where, name, kind in steps))


@pytest.mark.skipif(not os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"), reason="OTEL_EXPORTER_OTLP_ENDPOINT is not set")
async def test_the_cluster_exports_its_spans_to_a_collector(chat_database: str) -> None:
    environ = environment(chat_database, NATS_URL, OTEL_TRACES_EXPORTER="otlp")
    async with running("cluster", environ) as shape, WsClient(shape.urls[0] + "/ws") as ann:
        await ann.call("user/register", {"name": "ann", "password": PASSWORD})
        await ann.call("chat/join", {"room": "general"})
        await ann.call("chat/send", {"room": "general", "text": "to the collector"})
