"""QueryTracer on its own: operation names, error attributes, the slow-query threshold, no SDK at all."""

from __future__ import annotations

from types import SimpleNamespace

import asyncpg
import pytest
from loguru import logger
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from betrue.postgres.tracing import QueryTracer


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


def traced(exporter: InMemorySpanExporter, slow: float = 0.5) -> QueryTracer:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return QueryTracer(provider.get_tracer("test"), "postgresql://app@db.example:6432/shop", slow=slow)


@pytest.mark.parametrize(
    ("statement", "name"),
    [
        ("select 1", "SELECT"),
        ("  (SELECT 1) UNION (SELECT 2)", "SELECT"),
        ("\nwith x as (select 1) select * from x", "WITH"),
        ("", "QUERY"),
    ],
)
def test_the_span_is_named_after_the_operation(exporter: InMemorySpanExporter, statement: str, name: str) -> None:
    with traced(exporter).query(statement):
        pass
    (span,) = exporter.get_finished_spans()
    assert span.name == name
    assert (span.attributes or {})["db.namespace"] == "shop"
    assert (span.attributes or {})["server.port"] == 6432


def test_a_failed_statement_marks_its_span(exporter: InMemorySpanExporter) -> None:
    with pytest.raises(asyncpg.UniqueViolationError), traced(exporter).query("INSERT INTO t VALUES ($1)"):
        raise asyncpg.UniqueViolationError("duplicate key")
    (span,) = exporter.get_finished_spans()
    assert span.status.status_code == StatusCode.ERROR
    assert (span.attributes or {})["db.response.status_code"] == "23505"


def test_a_logged_record_becomes_a_span_with_its_real_duration(exporter: InMemorySpanExporter) -> None:
    lines: list[str] = []
    sink = logger.add(lambda message: lines.append(str(message)), level="WARNING")
    try:
        record = SimpleNamespace(query="UPDATE t SET n = $1", elapsed=0.75, exception=None)
        traced(exporter).logged(record)
    finally:
        logger.remove(sink)
    (span,) = exporter.get_finished_spans()
    assert span.end_time is not None
    assert span.start_time is not None
    assert span.end_time - span.start_time == 750_000_000
    assert (span.attributes or {})["db.query.text"] == "UPDATE t SET n = $1"
    assert len(lines) == 1
    assert "slow query (0.750s): UPDATE t SET n = $1" in lines[0]


def test_a_zero_threshold_never_logs_and_no_sdk_costs_nothing() -> None:
    lines: list[str] = []
    sink = logger.add(lambda message: lines.append(str(message)), level="WARNING")
    try:
        tracer = QueryTracer(None, None, slow=0)
        with tracer.query("SELECT pg_sleep(1)"):
            pass
        tracer.logged(SimpleNamespace(query="SELECT 1", elapsed=5.0, exception=None))
    finally:
        logger.remove(sink)
    assert lines == []
