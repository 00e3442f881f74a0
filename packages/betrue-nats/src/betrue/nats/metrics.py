"""OpenTelemetry instruments of the NATS adapter: calls and latencies per subject, calls refused before running.

* ``betrue.nats.calls`` [``betrue_nats_calls_total``] — calls answered, by ``subject`` and ``code``
* ``betrue.nats.duration`` [``betrue_nats_duration_seconds``] — histogram, by ``subject``
* ``betrue.nats.refused`` [``betrue_nats_refused_total``] — not run, by ``reason`` (``deadline``, ``busy``, ``dropped``)

Recorded only when a meter provider records (an SDK through ``OTEL_*`` or ``Telemetry.use``).
"""

from __future__ import annotations

from typing import Any

from opentelemetry import metrics
from opentelemetry.metrics import Meter, NoOpCounter

from betrue.nats.stats import OTHER

__all__ = ["NatsMetrics"]

_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_MAX_SUBJECTS = 4096


class NatsMetrics:
    """The adapter's instruments, made once from the app's meter provider (service ``telemetry``).

    Example:
        >>> NatsMetrics.of(None).recording
        False
    """

    def __init__(self, meter: Meter) -> None:
        self.calls = meter.create_counter("betrue.nats.calls", "{call}", "Calls answered by the NATS adapter")
        self.duration = meter.create_histogram(
            "betrue.nats.duration",
            "s",
            "Time from a call's arrival to its answer",
            explicit_bucket_boundaries_advisory=_BUCKETS,
        )
        self.refused = meter.create_counter("betrue.nats.refused", "{call}", "Calls answered without running")
        instrument: Any = self.calls
        self.recording = (
            not isinstance(instrument, NoOpCounter) and getattr(instrument, "_real_instrument", 1) is not None
        )
        self._labels: dict[tuple[str, int], dict[str, Any]] = {}

    @classmethod
    def of(cls, telemetry: Any) -> NatsMetrics:
        """From the app's ``Telemetry`` (its meter provider, else the global one)."""
        provider = getattr(telemetry, "meter_provider", None) or metrics.get_meter_provider()
        return cls(provider.get_meter("betrue.nats"))

    def call(self, subject: str, code: int, seconds: float) -> None:
        labels = self._labels.get((subject, code))
        if labels is None:
            if len(self._labels) >= _MAX_SUBJECTS:  # unknown codes from callers must not grow the label sets
                subject = OTHER
            labels = self._labels.setdefault((subject, code), {"subject": subject, "code": code})
        self.calls.add(1, labels)
        self.duration.record(seconds, {"subject": labels["subject"]})

    def refuse(self, reason: str) -> None:
        self.refused.add(1, {"reason": reason})
