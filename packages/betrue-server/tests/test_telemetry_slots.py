"""Telemetry fills the trace and metrics slots only when something records, decided once at start."""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from betrue.config import ConfigError
from betrue.server import Application, Context, Group
from betrue.server.testing import TestApp


def _app() -> Application:
    shop = Group("shop")

    @shop.command("buy")
    async def buy(params: Any, ctx: Context) -> str:
        return "bought"

    return Application("slots", groups=[shop], http=False, env_file=None)


def _stage_names(app: Application) -> list[str]:
    return [stage.__name__ for stage in app.router.stages_of(app.commands["shop/buy"])]


async def test_no_provider_no_stage() -> None:
    app = _app()
    async with TestApp(app):
        assert app.telemetry.trace_stage() is None
        assert app.telemetry.metrics_stage() is None
        assert _stage_names(app) == ["log_call", "error_boundary", "enforce_deadline"]


async def test_a_tracer_provider_fills_the_trace_slot_and_spans_are_recorded() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    app = _app()
    app.telemetry.use(tracer_provider=provider)
    async with TestApp(app) as running:
        assert _stage_names(app)[:3] == ["log_call", "error_boundary", "trace_call"]
        assert await running.result("shop/buy") == "bought"
    assert [span.name for span in exporter.get_finished_spans()] == ["shop/buy"]
    provider.shutdown()


async def test_a_meter_provider_fills_the_metrics_slot_after_the_trace_slot() -> None:
    reader = InMemoryMetricReader()
    app = _app()
    app.telemetry.use(meter_provider=MeterProvider(metric_readers=[reader]))
    async with TestApp(app) as running:
        names = _stage_names(app)
        assert names.index("measure_call") == names.index("error_boundary") + 1
        await running.result("shop/buy")
    data = reader.get_metrics_data()
    assert data is not None
    recorded = {
        metric.name
        for resource in data.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
    }
    assert "betrue.server.calls" in recorded


@pytest.mark.parametrize(("name", "value"), [("OUTPUT_VALIDATION", "sometimes"), ("SHUTDOWN_TIMEOUT", "soon")])
async def test_a_bad_app_setting_fails_start_naming_the_variable(name: str, value: str) -> None:
    app = _app()
    with pytest.raises(ConfigError, match=name):
        async with TestApp(app, env={name: value}):
            pass  # pragma: no cover - start fails first
    assert not app.started
