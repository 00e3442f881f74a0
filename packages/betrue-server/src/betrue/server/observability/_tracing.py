"""Tracing with the OpenTelemetry API: a SERVER span per command handled, a CLIENT span per client call.

W3C ``traceparent`` comes in through the call's meta (HTTP headers, WS message meta) and goes out
with every client call, through the global propagator (``OTEL_PROPAGATORS``; W3C trace context and
baggage by default). Without an SDK the stages are left out of the pipelines at start (``Telemetry``
decides with ``noop``): the API's own no-op spans would cost several microseconds a call, leaving them out
costs nothing. The client then passes the caller's trace headers on (``trace_fields``), so a traced app
further down still joins the caller's trace.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from opentelemetry import propagate, trace
from opentelemetry.trace import NoOpTracer, ProxyTracer, SpanKind, StatusCode, Tracer

from betrue.server.client._calls import Call, ClientMiddleware, Envelope, Send
from betrue.server.errors import BetrueError
from betrue.server.observability._otel import ROOT_TRACE_ID
from betrue.server.response import Response
from betrue.server.types import CallNext, Middleware

if TYPE_CHECKING:
    from betrue.server.context import Context

__all__ = ["client_span", "noop", "server_span", "span_ids", "trace_fields"]

_HEX = frozenset("0123456789abcdef")


def noop(tracer: Tracer) -> bool:
    """True when ``tracer``'s spans are no-ops now: no SDK, no global provider installed (yet).

    Example:
        >>> noop(trace.NoOpTracerProvider().get_tracer("demo"))
        True
    """
    if isinstance(tracer, ProxyTracer):
        tracer = tracer._tracer  # the real tracer once a global provider is set
    return isinstance(tracer, NoOpTracer)


def trace_fields() -> tuple[str, ...]:
    """The meta keys the global propagator reads and writes (``traceparent``, ``tracestate``, ``baggage``)."""
    return tuple(sorted(propagate.get_global_textmap().fields))


def span_ids(span: trace.Span) -> tuple[str, str] | None:
    """The (trace id, span id) of a recording span, as the 32/16 lower-hex strings logs carry."""
    if not span.is_recording():
        return None
    context = span.get_span_context()
    return format(context.trace_id, "032x"), format(context.span_id, "016x")


def server_span(tracer: Tracer) -> Middleware:
    """The pipeline stage ``trace_call``: a span named after the command, continuing the caller's trace.

    The span's ids are bound to ``ctx.logger``, so every line a handler logs carries them.

    Example:
        >>> stage = server_span(trace.get_tracer("demo"))  # the app installs it (pipeline stage 3)
    """
    fields = frozenset(trace_fields())

    async def trace_call(ctx: Context, params: Any, call_next: CallNext) -> Response:
        meta = ctx.meta
        parent = propagate.extract(meta) if meta and not fields.isdisjoint(meta) else None
        token = None
        if parent is None and len(ctx.trace_id) == 32 and _HEX.issuperset(ctx.trace_id):
            token = ROOT_TRACE_ID.set(int(ctx.trace_id, 16))  # a root span keeps the id logs already show
        try:
            span = tracer.start_span(ctx.code, context=parent, kind=SpanKind.SERVER)
        finally:
            if token is not None:
                ROOT_TRACE_ID.reset(token)
        with trace.use_span(span, end_on_exit=True, record_exception=False, set_status_on_exception=False):
            ctx.span = span
            ids = span_ids(span)
            if ids is not None:
                if "x-trace-id" not in meta:
                    ctx.trace_id = ids[0]
                ctx.logger = ctx.logger.bind(trace_id=ctx.trace_id, span_id=ids[1])
                span.set_attribute("betrue.command", ctx.code)
                span.set_attribute("betrue.adapter", ctx.adapter)
            try:
                response = await call_next(ctx, params)
            except BetrueError as error:
                _finish(span, error.code, error.status)
                raise
            except BaseException as error:
                if span.is_recording():
                    span.record_exception(error)
                _finish(span, 500, "InternalError")
                raise
            _finish(span, response.code, response.status)
            return response

    return trace_call


def client_span(tracer: Tracer) -> ClientMiddleware:
    """The client middleware ``trace_client``: a CLIENT span per call; its context travels in the meta.

    Example:
        >>> stage = client_span(trace.get_tracer("demo"))  # the client installs it (outermost)
    """

    async def trace_client(call: Call, send: Send) -> Envelope:
        token = None
        trace_id = call.meta.get("x-trace-id", "")
        if call.ctx is None and len(trace_id) == 32 and _HEX.issuperset(trace_id):
            token = ROOT_TRACE_ID.set(int(trace_id, 16))  # a call from outside a command: its span keeps that id
        try:
            span = tracer.start_span(call.code, kind=SpanKind.CLIENT)
        finally:
            if token is not None:
                ROOT_TRACE_ID.reset(token)
        with trace.use_span(span, end_on_exit=True, record_exception=False, set_status_on_exception=False):
            propagate.inject(call.meta)
            recording = span.is_recording()
            if recording:
                span.set_attribute("betrue.command", call.code)
                span.set_attribute("betrue.transport", call.transport.name)
                span.set_attribute("betrue.target", call.transport.target)
            envelope = await send(call)
            if recording:
                span.set_attribute("betrue.attempts", call.attempts)
                code = envelope.get("code")
                _finish(span, code if isinstance(code, int) else 500, str(envelope.get("status")), error_from=400)
            return envelope

    return trace_client


def _finish(span: trace.Span, code: int, status: str, *, error_from: int = 500) -> None:
    # As OpenTelemetry's HTTP conventions: a 4xx is the caller's error, so it marks the CLIENT span only.
    if not span.is_recording():
        return
    span.set_attribute("betrue.status", status)
    span.set_attribute("betrue.code", code)
    if code >= error_from:
        span.set_status(StatusCode.ERROR, status)
