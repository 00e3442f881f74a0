"""The OpenTelemetry SDK set up from config; the SDK is imported here, and only when something asks for it.

Installed by the extras ``betrue[otel]`` (SDK, OTLP exporter) and ``betrue[prometheus]`` (the
Prometheus reader). Without them betrue runs on the OpenTelemetry API alone, whose no-op costs little.
"""

from __future__ import annotations

import contextvars
import os
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.trace import TracerProvider

    from betrue.server.observability._telemetry import TelemetryConfig

__all__ = ["ROOT_TRACE_ID", "meter_provider", "prometheus_registry", "prometheus_text", "tracer_provider"]

ROOT_TRACE_ID: contextvars.ContextVar[int] = contextvars.ContextVar("betrue_root_trace_id", default=0)
"""Set around the start of a root span: the trace id the call already has (logs, ``x-trace-id``)."""


def _require(extra: str, what: str) -> ImportError:
    return ImportError(f"{what} needs the OpenTelemetry SDK: pip install 'betrue[{extra}]'")


def tracer_provider(config: TelemetryConfig, service_name: str) -> TracerProvider:
    """A TracerProvider exporting to ``OTEL_TRACES_EXPORTER`` (console or otlp) in batches.

    Its root spans take the trace id betrue already gave the call, so logs, envelopes and spans agree.
    """
    try:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
        from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
    except ImportError:
        raise _require("otel", f"OTEL_TRACES_EXPORTER={config.traces_exporter}") from None

    class CallTraceIds(RandomIdGenerator):
        def generate_trace_id(self) -> int:
            return ROOT_TRACE_ID.get() or super().generate_trace_id()

    exporter: SpanExporter
    if config.traces_exporter == "console":
        exporter = ConsoleSpanExporter(service_name=service_name, out=sys.stdout)  # stdout as it is now
    else:
        try:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        except ImportError:
            raise _require("otel", "OTEL_TRACES_EXPORTER=otlp") from None
        exporter = OTLPSpanExporter(endpoint=_endpoint(config, "traces"))
    provider = TracerProvider(resource=Resource.create({"service.name": service_name}), id_generator=CallTraceIds())
    provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


def meter_provider(config: TelemetryConfig, service_name: str, *, prometheus: Any = None) -> MeterProvider:
    """A MeterProvider with a Prometheus reader on ``prometheus`` (a CollectorRegistry) and/or an exporter."""
    try:
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import (
            ConsoleMetricExporter,
            MetricExporter,
            MetricReader,
            PeriodicExportingMetricReader,
        )
        from opentelemetry.sdk.resources import Resource
    except ImportError:
        raise _require("prometheus" if prometheus is not None else "otel", "metrics") from None
    readers: list[MetricReader] = []
    if prometheus is not None:
        try:
            from opentelemetry.exporter.prometheus import PrometheusMetricReader
        except ImportError:
            raise _require("prometheus", "METRICS_ENABLED") from None
        readers.append(PrometheusMetricReader(registry=prometheus))
    if config.metrics_exporter != "none":
        exporter: MetricExporter
        if config.metrics_exporter == "console":
            exporter = ConsoleMetricExporter(out=sys.stdout)
        else:
            try:
                from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
            except ImportError:
                raise _require("otel", "OTEL_METRICS_EXPORTER=otlp") from None
            exporter = OTLPMetricExporter(endpoint=_endpoint(config, "metrics"))
        readers.append(PeriodicExportingMetricReader(exporter, export_interval_millis=config.metric_interval))
    return MeterProvider(metric_readers=readers, resource=Resource.create({"service.name": service_name}))


def prometheus_registry() -> Any:
    """A fresh registry, so that each app's ``/metrics`` shows its own series only."""
    try:
        from prometheus_client import CollectorRegistry
    except ImportError:
        raise _require("prometheus", "METRICS_ENABLED") from None
    return CollectorRegistry(auto_describe=True)


def prometheus_text(registry: Any) -> tuple[bytes, str]:
    """The Prometheus text exposition of ``registry`` and its content type."""
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    return generate_latest(registry), CONTENT_TYPE_LATEST


def _endpoint(config: TelemetryConfig, signal: str) -> str | None:
    # The exporters read OTEL_EXPORTER_OTLP_* from os.environ themselves (None); an endpoint from the app's
    # own environment (or .env file) is passed on explicitly, with the signal's path as the spec says.
    if config.otlp_endpoint and not os.environ.get(f"OTEL_EXPORTER_OTLP_{signal.upper()}_ENDPOINT"):
        return f"{config.otlp_endpoint.rstrip('/')}/v1/{signal}"
    return None
