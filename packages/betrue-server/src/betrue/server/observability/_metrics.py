"""Metrics through the OpenTelemetry metrics API: per command handled and per client target.

Instruments (Prometheus names in brackets):

* ``betrue.server.calls`` [``betrue_server_calls_total``] — calls handled, by ``command`` and ``status``
* ``betrue.server.errors`` [``betrue_server_errors_total``] — the failed ones, by ``command`` and ``status``
* ``betrue.server.duration`` [``betrue_server_duration_seconds``] — histogram, by ``command``
* ``betrue.server.in_flight`` [``betrue_server_in_flight``] — calls running now, by ``command``
* ``betrue.client.calls`` / ``.errors`` / ``.duration`` / ``.in_flight`` — the same per ``target`` and ``command``
* ``betrue.client.retries`` [``betrue_client_retries_total``] — extra attempts, by ``target`` and ``command``
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from opentelemetry.metrics import Meter, NoOpCounter

from betrue.server.client._calls import Call, ClientMiddleware, Envelope, Send
from betrue.server.errors import BetrueError
from betrue.server.response import Response
from betrue.server.types import CallNext, Middleware

if TYPE_CHECKING:
    from betrue.server.context import Context

__all__ = ["CallMetrics"]


DURATION_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_MAX_LABEL_SETS = 10_000  # codes a client calls may come from user input: keep the attribute cache bounded


class CallMetrics:
    """The instruments of one app, made once from its meter, and the stages that feed them.

    Example:
        >>> from opentelemetry import metrics
        >>> instruments = CallMetrics(metrics.get_meter("demo"))
        >>> stage = instruments.server_stage()  # a pipeline middleware; the app installs it
    """

    def __init__(self, meter: Meter) -> None:
        self.server_calls = meter.create_counter("betrue.server.calls", "{call}", "Commands handled")
        self.server_errors = meter.create_counter("betrue.server.errors", "{call}", "Commands that answered an error")
        self.server_duration = meter.create_histogram(
            "betrue.server.duration",
            "s",
            "Time to handle a command",
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS,
        )
        self.server_in_flight = meter.create_up_down_counter("betrue.server.in_flight", "{call}", "Commands running")
        self.client_calls = meter.create_counter("betrue.client.calls", "{call}", "Calls made through the client")
        self.client_errors = meter.create_counter("betrue.client.errors", "{call}", "Client calls that got an error")
        self.client_duration = meter.create_histogram(
            "betrue.client.duration",
            "s",
            "Time a client call took",
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS,
        )
        self.client_in_flight = meter.create_up_down_counter(
            "betrue.client.in_flight", "{call}", "Client calls waiting"
        )
        self.client_retries = meter.create_counter("betrue.client.retries", "{attempt}", "Extra attempts by retries")
        self._labels: dict[tuple[str, ...], Mapping[str, str]] = {}

    def idle(self) -> bool:
        """True when nothing records now (no SDK, no global meter provider): the stages are then left out.

        Example:
            >>> from opentelemetry import metrics
            >>> CallMetrics(metrics.NoOpMeterProvider().get_meter("demo")).idle()
            True
        """
        instrument: Any = self.server_calls
        if isinstance(instrument, NoOpCounter):
            return True
        # The API's proxy instruments forward to a real one once a global meter provider is set.
        return hasattr(instrument, "_real_instrument") and instrument._real_instrument is None

    def labels(self, *pairs: str) -> Mapping[str, str]:
        """One shared attribute dict per label set (``labels("command", "chat/send")``)."""
        found = self._labels.get(pairs)
        if found is None:
            found = dict(zip(pairs[::2], pairs[1::2], strict=True))
            if len(self._labels) < _MAX_LABEL_SETS:
                self._labels[pairs] = found
        return found

    def server_stage(self) -> Middleware:
        """The pipeline stage ``measure_call``: calls, errors by status, duration and in-flight per command."""
        calls, errors, duration, in_flight, labels = (
            self.server_calls,
            self.server_errors,
            self.server_duration,
            self.server_in_flight,
            self.labels,
        )

        async def measure_call(ctx: Context, params: Any, call_next: CallNext) -> Response:
            code = ctx.code
            command = labels("command", code)
            in_flight.add(1, command)
            started = time.perf_counter()
            status = "InternalError"
            failed = True
            try:
                response = await call_next(ctx, params)
                status, failed = response.status, response.error is not None
                return response
            except BetrueError as error:
                status = error.status
                raise
            finally:
                in_flight.add(-1, command)
                duration.record(time.perf_counter() - started, command)
                with_status = labels("command", code, "status", status)
                calls.add(1, with_status)
                if failed:
                    errors.add(1, with_status)

        return measure_call

    def client_stage(self) -> ClientMiddleware:
        """The client middleware ``measure_client``: the same per target and command, plus retries."""
        calls, errors, duration, in_flight, retries, labels = (
            self.client_calls,
            self.client_errors,
            self.client_duration,
            self.client_in_flight,
            self.client_retries,
            self.labels,
        )

        async def measure_client(call: Call, send: Send) -> Envelope:
            target = call.transport.target
            where = labels("target", target, "command", call.code)
            in_flight.add(1, where)
            started = time.perf_counter()
            status = "Cancelled"
            failed = True
            try:
                envelope = await send(call)
                status, failed = str(envelope.get("status")), "error" in envelope
                return envelope
            finally:
                in_flight.add(-1, where)
                duration.record(time.perf_counter() - started, where)
                with_status = labels("target", target, "command", call.code, "status", status)
                calls.add(1, with_status)
                if failed:
                    errors.add(1, with_status)
                if call.attempts > 1:
                    retries.add(call.attempts - 1, where)

        return measure_client
