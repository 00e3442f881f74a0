"""The ``telemetry`` service: an app's tracer and meter, the SDK when config asks for it, and ``/metrics``."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, Literal

from loguru import logger
from opentelemetry import metrics, trace
from pydantic import field_validator

from betrue.config import Config, env
from betrue.server.client._calls import ClientMiddleware
from betrue.server.observability._metrics import CallMetrics
from betrue.server.observability._tracing import client_span, noop, server_span
from betrue.server.types import Middleware

if TYPE_CHECKING:
    from aiohttp import web
    from opentelemetry.metrics import MeterProvider
    from opentelemetry.trace import TracerProvider

    from betrue.server.application import Application

__all__ = ["Telemetry", "TelemetryConfig"]

_SCOPE = "betrue.server"


class TelemetryConfig(Config):
    """Telemetry: OpenTelemetry traces and metrics, and the Prometheus endpoint."""

    service_name: str = env(
        "OTEL_SERVICE_NAME", "", description="service.name of this app's spans and metrics (the app's name when empty)"
    )
    traces_exporter: Literal["none", "console", "otlp"] = env(
        "OTEL_TRACES_EXPORTER",
        "none",
        description="Where spans go: none (the API's no-op, or a provider you installed), console, otlp "
        "(console and otlp need the betrue[otel] extra)",
    )
    metrics_exporter: Literal["none", "console", "otlp"] = env(
        "OTEL_METRICS_EXPORTER", "none", description="Where metrics are pushed: none, console, otlp (betrue[otel])"
    )
    otlp_endpoint: str = env(
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "",
        description="Base URL of the OTLP/HTTP collector (the exporter's default, http://localhost:4318, when empty)",
    )
    metric_interval: int = env(
        "OTEL_METRIC_EXPORT_INTERVAL", 60000, description="Milliseconds between two metric pushes", ge=1
    )
    sdk_disabled: bool = env("OTEL_SDK_DISABLED", False, description="Install no SDK whatever the settings above say")
    metrics_enabled: bool = env(
        "METRICS_ENABLED", False, description="Serve Prometheus text metrics over HTTP (needs betrue[prometheus])"
    )
    metrics_path: str = env("METRICS_PATH", "/metrics", description="Path of the Prometheus text endpoint")

    @field_validator("metrics_path")
    @classmethod
    def _check_path(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError("must start with /")
        return value


class Telemetry:
    """One app's tracer, meter and instruments (``app.telemetry``); a service started before the client.

    Providers come from, in order: ``use(...)`` before start, the SDK built from ``OTEL_*`` settings,
    or the global OpenTelemetry providers (a no-op unless you installed one).

    Example:
        >>> # from opentelemetry.sdk.trace import TracerProvider
        >>> # app.telemetry.use(tracer_provider=TracerProvider())   # before app.start()
    """

    def __init__(self, app: Application) -> None:
        self.app = app
        self.config = TelemetryConfig.from_dict({})
        self.tracer_provider: TracerProvider | None = None
        self.meter_provider: MeterProvider | None = None
        self.prometheus_registry: Any = None
        self.tracer: trace.Tracer = trace.get_tracer(_SCOPE)
        self.metrics = CallMetrics(metrics.get_meter(_SCOPE))
        self._owned: list[Any] = []
        self._http: Any = None

    def use(
        self,
        *,
        tracer_provider: TracerProvider | None = None,
        meter_provider: MeterProvider | None = None,
        prometheus_registry: Any = None,
    ) -> Telemetry:
        """Use these providers instead of the configured ones (tests, a set-up of your own); before start."""
        if tracer_provider is not None:
            self.tracer_provider = tracer_provider
        if meter_provider is not None:
            self.meter_provider = meter_provider
            self.prometheus_registry = prometheus_registry
        return self

    def configure(self, config: TelemetryConfig, http: Any = None) -> Telemetry:
        """The DI factory of service ``telemetry``."""
        self.config = config
        self._http = http
        return self

    async def start(self) -> Telemetry:
        from betrue.server.observability import _otel as otel

        config = self.config
        name = config.service_name or self.app.name
        if self.tracer_provider is None and config.traces_exporter != "none" and not config.sdk_disabled:
            self.tracer_provider = otel.tracer_provider(config, name)
            self._owned.append(self.tracer_provider)
        wants_meter = config.metrics_enabled or config.metrics_exporter != "none"
        if self.meter_provider is None and wants_meter and not config.sdk_disabled:
            registry = otel.prometheus_registry() if config.metrics_enabled else None
            self.meter_provider = otel.meter_provider(config, name, prometheus=registry)
            self.prometheus_registry = registry
            self._owned.append(self.meter_provider)
        self.tracer = (self.tracer_provider or trace.get_tracer_provider()).get_tracer(_SCOPE)
        self.metrics = CallMetrics((self.meter_provider or metrics.get_meter_provider()).get_meter(_SCOPE))
        if config.metrics_enabled:
            self._serve_metrics()
        return self

    def server_stages(self) -> list[Middleware]:
        """``trace_call`` and ``measure_call`` for the pipelines, each only when something records.

        Decided when the pipelines are built: a provider installed later is not seen (install it first).
        """
        stages: list[Middleware] = []
        if not noop(self.tracer):
            stages.append(server_span(self.tracer))
        if not self.metrics.idle():
            stages.append(self.metrics.server_stage())
        return stages

    def trace_stage(self) -> Middleware | None:
        """The pipeline's ``trace`` slot: a span per call, or None when nothing records spans."""
        return None if noop(self.tracer) else server_span(self.tracer)

    def metrics_stage(self) -> Middleware | None:
        """The pipeline's ``metrics`` slot: calls, errors, duration, in flight; None when nothing records."""
        return None if self.metrics.idle() else self.metrics.server_stage()

    def client_stages(self) -> list[ClientMiddleware]:
        """``trace_client`` and ``measure_client`` for the client's call path, each only when something records."""
        stages: list[ClientMiddleware] = []
        if not noop(self.tracer):
            stages.append(client_span(self.tracer))
        if not self.metrics.idle():
            stages.append(self.metrics.client_stage())
        return stages

    def _serve_metrics(self) -> None:
        if self._http is None or getattr(self._http, "web", None) is None:
            raise RuntimeError("METRICS_ENABLED needs the HTTP adapter (Application(http=True))")
        if self.prometheus_registry is None:
            raise RuntimeError("METRICS_ENABLED with your own meter provider: pass use(prometheus_registry=...)")
        from betrue.server.observability import _otel as otel

        registry = self.prometheus_registry

        async def prometheus(request: web.Request) -> web.Response:
            from aiohttp import web

            body, content_type = otel.prometheus_text(registry)
            # aiohttp wants the charset apart from the media type.
            media_type, _, params = content_type.partition(";")
            charset = params.partition("charset=")[2].strip() or "utf-8"
            return web.Response(body=body, content_type=media_type.strip(), charset=charset)

        self._http.add_route("GET", self.config.metrics_path, prometheus)
        logger.bind(app=self.app.name).info("Prometheus metrics at {}", self.config.metrics_path)

    async def stop(self) -> None:
        for provider in reversed(self._owned):
            # Shutting down flushes what is batched, with blocking I/O: off the loop, which may be serving
            # the very collector the spans go to.
            await asyncio.to_thread(provider.shutdown)
            if provider is self.tracer_provider:
                self.tracer_provider = None
            if provider is self.meter_provider:
                self.meter_provider = self.prometheus_registry = None
        self._owned.clear()
