"""Tracing: one trace across gateway → game → chat, traceparent in and out, ids in logs, the no-op's cost."""

from __future__ import annotations

import itertools
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import SimpleNamespace
from typing import Any

import pytest
from aiohttp import web
from loguru import logger
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import NoOpTracerProvider, SpanKind

from betrue.server import Application, Context, Group, Response
from betrue.server.observability._tracing import server_span
from betrue.server.testing import TestApp

PARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def chat_app(seen: list[dict[str, str]]) -> Application:
    chat = Group("chat")

    @chat.command("post")
    async def post(params: dict[str, Any], ctx: Context) -> dict[str, bool]:
        seen.append(dict(ctx.meta))
        ctx.logger.info("posted in {}", params.get("room"))
        return {"ok": True}

    return Application("chat", groups=[chat], env_file=None)


def game_app(chat_url: str) -> Application:
    game = Group("game")

    @game.command("load")
    async def load(params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        return {"posted": await ctx.client.chat.post({"room": "lobby"})}

    return Application("game", groups=[game], env_file=None, environ={"ROUTES": f"chat={chat_url}"})


def traced(app: Application, exporter: InMemorySpanExporter) -> Application:
    provider = TracerProvider(resource=Resource.create({"service.name": app.name}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    app.telemetry.use(tracer_provider=provider)
    return app


@asynccontextmanager
async def three_apps(exporter: InMemorySpanExporter | None, seen: list[dict[str, str]]) -> AsyncIterator[TestApp]:
    def maybe(app: Application) -> Application:
        return traced(app, exporter) if exporter is not None else app

    async with TestApp(maybe(chat_app(seen)), http=True) as chat:
        game = maybe(game_app(chat.url))
        async with TestApp(game, http=True) as served:
            gateway = Application("gateway", env_file=None, environ={"GATEWAY_UPSTREAMS": served.url})
            gateway.proxy()
            async with TestApp(maybe(gateway), http=True) as door:
                yield door


def by_name(spans: tuple[ReadableSpan, ...], trace_id: int) -> dict[tuple[str, str, SpanKind], ReadableSpan]:
    return {
        (str(span.resource.attributes["service.name"]), span.name, span.kind): span
        for span in spans
        if span.context is not None and span.context.trace_id == trace_id
    }


async def test_one_trace_covers_gateway_game_and_chat_with_correct_parents() -> None:
    exporter = InMemorySpanExporter()
    async with three_apps(exporter, []) as door:
        reply = await door.post("game/load", {})
        assert door.app.gateway is not None
        (upstream,) = door.app.gateway.upstreams
    assert reply.status == 200
    trace_id = int(reply.envelope["traceId"], 16)
    spans = by_name(exporter.get_finished_spans(), trace_id)
    chain = [
        ("gateway", "game/load", SpanKind.SERVER),
        ("gateway", "game/load", SpanKind.CLIENT),
        ("game", "game/load", SpanKind.SERVER),
        ("game", "chat/post", SpanKind.CLIENT),
        ("chat", "chat/post", SpanKind.SERVER),
    ]
    assert set(spans) == set(chain)
    assert spans[chain[0]].parent is None
    for parent, child in itertools.pairwise(chain):
        assert spans[child].parent is not None
        assert spans[child].parent.span_id == spans[parent].context.span_id  # type: ignore[union-attr]
    assert (spans[chain[1]].attributes or {})["betrue.target"] == upstream
    assert (spans[chain[4]].attributes or {})["betrue.status"] == "Success"
    assert reply.headers["x-trace-id"] == reply.envelope["traceId"]


async def test_an_incoming_traceparent_is_continued() -> None:
    exporter = InMemorySpanExporter()
    async with TestApp(traced(chat_app([]), exporter), http=True) as chat:
        reply = await chat.post("chat/post", {}, headers={"traceparent": PARENT})
    (span,) = [span for span in exporter.get_finished_spans() if span.name == "chat/post"]
    assert span.context is not None
    assert span.parent is not None
    assert format(span.context.trace_id, "032x") == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert span.parent.span_id == 0x00F067AA0BA902B7
    assert span.parent.is_remote
    assert reply.envelope["traceId"] == "4bf92f3577b34da6a3ce929d0e0e4736"


async def test_without_an_sdk_traceparent_still_travels_through_every_hop() -> None:
    seen: list[dict[str, str]] = []
    async with three_apps(None, seen) as door:
        reply = await door.post("game/load", {}, headers={"traceparent": PARENT})
    assert reply.status == 200
    assert seen[0]["traceparent"] == PARENT
    assert seen[0]["x-trace-id"] == "4bf92f3577b34da6a3ce929d0e0e4736"


async def test_log_lines_carry_the_trace_and_span_ids() -> None:
    lines: list[dict[str, Any]] = []
    sink = logger.add(lambda message: lines.append(dict(message.record["extra"])), format="{message}")
    exporter = InMemorySpanExporter()
    try:
        async with TestApp(traced(chat_app([]), exporter)) as chat:
            await chat.call("chat/post", {"room": "r1"})
    finally:
        logger.remove(sink)
    (span,) = [span for span in exporter.get_finished_spans() if span.name == "chat/post"]
    assert span.context is not None
    ids = {"trace_id": format(span.context.trace_id, "032x"), "span_id": format(span.context.span_id, "016x")}
    (handler_line,) = [line for line in lines if line.get("span_id") == ids["span_id"]]
    assert handler_line == {**ids, "command": "chat/post"}


async def test_a_call_from_outside_a_command_starts_a_trace_the_upstream_continues() -> None:
    exporter = InMemorySpanExporter()
    async with TestApp(traced(chat_app([]), exporter), http=True) as chat:
        caller = traced(Application("caller", env_file=None, environ={"ROUTES": f"chat={chat.url}"}), exporter)
        async with TestApp(caller):
            await caller.client.call("chat/post", {})
    spans = {span.kind: span for span in exporter.get_finished_spans() if span.name == "chat/post"}
    client, server = spans[SpanKind.CLIENT], spans[SpanKind.SERVER]
    assert client.parent is None
    assert server.parent is not None
    assert client.context is not None
    assert server.parent.span_id == client.context.span_id


async def test_console_exporter_is_switched_on_by_config(capfd: pytest.CaptureFixture[str]) -> None:
    app = Application("console", groups=[Group("nothing")], env_file=None, environ={"OTEL_TRACES_EXPORTER": "console"})
    async with TestApp(app) as console:
        await console.call("_app/health", {})
    printed = capfd.readouterr().out
    assert '"name": "_app/health"' in printed
    assert '"service.name": "console"' in printed


async def test_otlp_exporter_sends_spans_to_a_collector() -> None:
    received: list[ExportTraceServiceRequest] = []

    async def collect(request: web.Request) -> web.Response:
        message = ExportTraceServiceRequest()
        message.ParseFromString(await request.read())
        received.append(message)
        return web.Response(body=b"", content_type="application/x-protobuf")

    collector = web.Application()
    collector.router.add_post("/v1/traces", collect)
    runner = web.AppRunner(collector, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        environ = {"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{port}"}
        app = Application("otlp", env_file=None, environ=environ)
        async with TestApp(app) as traced_app:
            reply = await traced_app.call("_app/health", {})
    finally:
        await runner.cleanup()
    spans = [
        span for message in received for rs in message.resource_spans for ss in rs.scope_spans for span in ss.spans
    ]
    assert [span.name for span in spans] == ["_app/health"]
    assert spans[0].trace_id.hex() == reply["traceId"]  # the root span kept the id the call already had


async def test_without_an_sdk_tracing_costs_nothing_per_call() -> None:
    """No SDK: no tracing stage is built at all. Prints what the API's no-op span stage would have cost."""
    app = Application("plain", env_file=None)
    async with TestApp(app):
        assert app.telemetry.server_stages() == []
        assert app.telemetry.client_stages() == []
        stages = app.router.stages_of(app.commands["_app/health"])
        assert [stage.__name__ for stage in stages] == ["log_call", "error_boundary", "enforce_deadline"]
    answer = Response(None)

    async def inner(ctx: Any, params: Any) -> Response:
        return answer

    stage = server_span(NoOpTracerProvider().get_tracer("bench"))
    ctx: Any = SimpleNamespace(meta={"traceparent": PARENT}, trace_id="x" * 32, code="chat/post", adapter="http")

    async def cost(step: Any, rounds: int = 5_000) -> float:
        best = float("inf")
        for _ in range(7):
            started = time.perf_counter_ns()
            for _ in range(rounds):
                await step()
            best = min(best, (time.perf_counter_ns() - started) / rounds)
        return best

    avoided = await cost(lambda: stage(ctx, {}, inner)) - await cost(lambda: inner(ctx, {}))
    print(f"\nno SDK: tracing adds 0 ns a call (no stage); an API no-op span stage would add {avoided:.0f} ns")
    assert avoided > 0
