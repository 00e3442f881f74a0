"""A CLIENT span per query with the database semantic conventions, and a log line for slow queries.

The span carries the statement text as written (``$1`` placeholders), never the parameters. Without an
OpenTelemetry SDK the spans are no-ops; the slow-query line is written either way. The ``db`` service's
own helpers wrap each call in ``query()``; connections it lends (``transaction()``, ``connection()``,
``db_connection``) report each statement through asyncpg's query logger to ``logged()``, which records the
same span after the fact, with its real start and end times.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qs, urlsplit

from loguru import logger
from opentelemetry import trace
from opentelemetry.trace import NoOpTracer, ProxyTracer, Span, SpanKind, StatusCode, Tracer

__all__ = ["QueryTracer"]

_SCOPE = "betrue.postgres"


def _operation(statement: str) -> str:
    words = statement.lstrip(" \t\r\n(").split(None, 1)
    return words[0].upper() if words else "QUERY"


def _mark_failed(span: Span, error: BaseException) -> None:
    state = getattr(error, "sqlstate", None)
    span.set_attribute("error.type", state or type(error).__qualname__)
    if state:
        span.set_attribute("db.response.status_code", state)
    span.set_status(StatusCode.ERROR, type(error).__qualname__)


def _is_noop(tracer: Tracer) -> bool:
    """True when ``tracer``'s spans are no-ops now: no SDK, no global provider installed (yet)."""
    if isinstance(tracer, ProxyTracer):
        tracer = getattr(tracer, "_tracer", tracer)  # the real tracer once a global provider is set
    return isinstance(tracer, NoOpTracer)


class QueryTracer:
    """Times and traces the queries of one database.

    Example:
        >>> tracer = QueryTracer(None, "postgresql://app@db:5432/shop", slow=0.5)
        >>> with tracer.query("SELECT 1"):
        ...     pass
    """

    def __init__(self, tracer: Tracer | None, dsn: str | None, *, slow: float) -> None:
        self.tracer = tracer if tracer is not None else trace.get_tracer(_SCOPE)
        self.noop = _is_noop(self.tracer)
        """Decided once, as the app's own stages are: spans cost nothing at all without an SDK."""
        self.slow = slow
        parts = urlsplit(dsn or "")
        self.attributes: dict[str, str | int] = {"db.system": "postgresql", "db.system.name": "postgresql"}
        if parts.path.lstrip("/"):
            self.attributes["db.namespace"] = parts.path.lstrip("/")
        host = parts.hostname or parse_qs(parts.query).get("host", [""])[0]  # a Unix socket's folder
        if host:
            self.attributes["server.address"] = host
        with contextlib.suppress(ValueError):
            if parts.port:
                self.attributes["server.port"] = parts.port

    def begin(self, statement: str) -> Span | None:
        """The span of one statement, started; None when spans are no-ops (no SDK when the service started)."""
        if self.noop:
            return None
        operation = _operation(statement)
        span = self.tracer.start_span(operation, kind=SpanKind.CLIENT)
        if span.is_recording():
            span.set_attributes(self.attributes)
            span.set_attribute("db.operation.name", operation)
            span.set_attribute("db.query.text", statement)
        return span

    def end(self, span: Span | None, statement: str, elapsed: float, error: BaseException | None = None) -> None:
        """End what ``begin`` started (marking an error), and log the statement when it was slow."""
        if span is not None:
            if error is not None and span.is_recording():
                _mark_failed(span, error)
            span.end()
        if elapsed >= self.slow > 0:
            self._log_slow(statement, elapsed)

    @contextmanager
    def query(self, statement: str) -> Iterator[None]:
        """``begin`` and ``end`` around a block; an exception marks the span as an error and goes on."""
        span = self.begin(statement)
        started = time.perf_counter()
        try:
            yield
        except BaseException as error:
            self.end(span, statement, time.perf_counter() - started, error)
            raise
        self.end(span, statement, time.perf_counter() - started)

    def logged(self, record: Any) -> None:
        """asyncpg's query-logger callback (a ``LoggedQuery``): the span and the slow-query line, after the fact.

        asyncpg calls it with ``loop.call_soon`` from the task that ran the query, so the span's parent is
        that task's current span (the command's).
        """
        statement: str = record.query
        if record.elapsed >= self.slow > 0:
            self._log_slow(statement, record.elapsed)
        if self.noop:
            return
        ended = time.time_ns()
        operation = _operation(statement)
        span = self.tracer.start_span(
            operation, kind=SpanKind.CLIENT, start_time=ended - int(record.elapsed * 1_000_000_000)
        )
        if span.is_recording():
            span.set_attributes(self.attributes)
            span.set_attribute("db.operation.name", operation)
            span.set_attribute("db.query.text", statement)
            if record.exception is not None:
                _mark_failed(span, record.exception)
        span.end(end_time=ended)

    @staticmethod
    def _log_slow(statement: str, elapsed: float) -> None:
        logger.warning("slow query ({:.3f}s): {}", elapsed, " ".join(statement.split())[:300])
