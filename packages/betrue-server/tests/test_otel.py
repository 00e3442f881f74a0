"""The SDK set-up from config: providers, exporters, the trace ids of root spans, the Prometheus registry."""

from __future__ import annotations

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider

from betrue.server.observability._otel import (
    ROOT_TRACE_ID,
    meter_provider,
    prometheus_registry,
    prometheus_text,
    tracer_provider,
)
from betrue.server.observability._telemetry import TelemetryConfig


def test_root_spans_take_the_trace_id_the_call_already_has() -> None:
    provider = tracer_provider(TelemetryConfig.from_dict({"traces_exporter": "console"}), "demo")
    try:
        assert isinstance(provider, TracerProvider)
        assert provider.resource.attributes["service.name"] == "demo"
        tracer = provider.get_tracer("test")
        token = ROOT_TRACE_ID.set(0x4BF92F3577B34DA6A3CE929D0E0E4736)
        try:
            kept = tracer.start_span("kept")
        finally:
            ROOT_TRACE_ID.reset(token)
        fresh = tracer.start_span("fresh")
        assert kept.get_span_context().trace_id == 0x4BF92F3577B34DA6A3CE929D0E0E4736
        assert fresh.get_span_context().trace_id != kept.get_span_context().trace_id
        kept.end()
        fresh.end()
    finally:
        provider.shutdown()


def test_an_otlp_endpoint_from_the_app_environment_gets_the_signal_path() -> None:
    config = TelemetryConfig.from_dict({"traces_exporter": "otlp", "otlp_endpoint": "http://collector:4318/"})
    provider = tracer_provider(config, "demo")
    processor = provider._active_span_processor._span_processors[0]
    assert processor.span_exporter._endpoint == "http://collector:4318/v1/traces"  # type: ignore[attr-defined]
    provider.shutdown()


def test_each_meter_provider_writes_to_its_own_registry() -> None:
    registry = prometheus_registry()
    provider = meter_provider(TelemetryConfig.from_dict({}), "demo", prometheus=registry)
    assert isinstance(provider, MeterProvider)
    provider.get_meter("test").create_counter("demo.hits").add(2, {"page": "home"})
    text, content_type = prometheus_text(registry)
    assert (
        b'demo_hits_total{otel_scope_name="test",otel_scope_schema_url="",otel_scope_version="",page="home"} 2.0'
        in text
    )
    assert content_type.startswith("text/plain")
    provider.shutdown()
