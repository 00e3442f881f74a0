"""Tracing with the OpenTelemetry API: a span per command handled; a no-op when no SDK is installed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from opentelemetry import trace

from betrue.server.response import Response
from betrue.server.types import CallNext

if TYPE_CHECKING:
    from betrue.server.context import Context

__all__ = ["trace_call", "tracer"]

tracer = trace.get_tracer("betrue.server")


async def trace_call(ctx: Context, params: Any, call_next: CallNext) -> Response:
    """A server span named after the command, with its adapter and final status."""
    with tracer.start_as_current_span(ctx.code, kind=trace.SpanKind.SERVER) as span:
        ctx.span = span
        response = await call_next(ctx, params)
        if span.is_recording():
            span.set_attribute("betrue.command", ctx.code)
            span.set_attribute("betrue.adapter", ctx.adapter)
            span.set_attribute("betrue.status", response.status)
            span.set_attribute("betrue.code", response.code)
            if response.error is not None:
                span.set_status(trace.StatusCode.ERROR, response.status)
        return response
