"""The telemetry service: providers from config or from ``use()``, their lifecycle, the settings' checks."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from betrue.config import ConfigError
from betrue.server import Application
from betrue.server.observability._telemetry import TelemetryConfig
from betrue.server.testing import TestApp


async def test_a_provider_given_with_use_is_used_and_left_running() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    app = Application("used", env_file=None)
    app.telemetry.use(tracer_provider=provider)
    async with TestApp(app) as running:
        await running.call("_app/health", {})
    assert [span.name for span in exporter.get_finished_spans()] == ["_app/health"]
    provider.get_tracer("still").start_span("alive").end()  # not shut down by the app
    assert len(exporter.get_finished_spans()) == 2


async def test_a_configured_sdk_is_shut_down_at_stop_and_built_again_at_restart() -> None:
    app = Application("restart", env_file=None, environ={"OTEL_TRACES_EXPORTER": "console"})
    async with TestApp(app):
        first = app.telemetry.tracer_provider
        assert isinstance(first, TracerProvider)
    assert app.telemetry.tracer_provider is None
    async with TestApp(app):
        assert app.telemetry.tracer_provider is not None
        assert app.telemetry.tracer_provider is not first


async def test_otel_sdk_disabled_wins() -> None:
    environ = {"OTEL_TRACES_EXPORTER": "console", "OTEL_SDK_DISABLED": "true", "METRICS_ENABLED": "false"}
    app = Application("off", env_file=None, environ=environ)
    async with TestApp(app):
        assert app.telemetry.tracer_provider is None


def test_the_metrics_path_is_checked() -> None:
    with pytest.raises(ConfigError, match="METRICS_PATH"):
        TelemetryConfig.load(environ={"METRICS_PATH": "metrics"}, env_file=())
    with pytest.raises(ConfigError, match="OTEL_TRACES_EXPORTER"):
        TelemetryConfig.load(environ={"OTEL_TRACES_EXPORTER": "jaeger"}, env_file=())
