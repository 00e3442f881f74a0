"""Job metrics through the OpenTelemetry metrics API.

Instruments (Prometheus names in brackets):

* ``betrue.jobs.runs`` [``betrue_jobs_runs_total``] — attempts run, by ``command`` and ``outcome``
  (done, retry, dead, rejected, lost)
* ``betrue.jobs.duration`` [``betrue_jobs_duration_seconds``] — histogram of attempts, by ``command``
* ``betrue.jobs.count`` [``betrue_jobs_count``] — jobs in the queue by ``state`` (queued, running, done,
  failed, dead, cancelled), read from the queue at most every ``REFRESH`` seconds
* ``betrue.jobs.oldest_age`` [``betrue_jobs_oldest_age_seconds``] — how long the oldest due job has waited
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from opentelemetry import metrics
from opentelemetry.metrics import CallbackOptions, Meter, NoOpCounter, Observation

from betrue.server.observability._metrics import DURATION_BUCKETS

if TYPE_CHECKING:
    from betrue.server.jobqueue import JobQueue
    from betrue.server.observability import Telemetry

__all__ = ["JobMetrics"]

REFRESH = 5.0


class JobMetrics:
    """The job instruments of one worker, and the last counts read from its queue.

    Example:
        >>> from opentelemetry import metrics
        >>> from betrue.server.jobqueue import MemoryJobQueue
        >>> instruments = JobMetrics(metrics.get_meter("demo"), MemoryJobQueue())
        >>> instruments.ran("mail/send", "done", 0.01)
    """

    def __init__(self, meter: Meter, queue: JobQueue) -> None:
        self.queue = queue
        self.counts: dict[str, float] = {}
        self._read_at = 0.0
        self.runs = meter.create_counter("betrue.jobs.runs", "{attempt}", "Job attempts run, by outcome")
        self.duration = meter.create_histogram(
            "betrue.jobs.duration", "s", "Time a job attempt took", explicit_bucket_boundaries_advisory=DURATION_BUCKETS
        )
        meter.create_observable_gauge("betrue.jobs.count", [self._observe_counts], "{job}", "Jobs by state")
        meter.create_observable_gauge("betrue.jobs.oldest_age", [self._observe_age], "s", "Wait of the oldest due job")

    @classmethod
    def of(cls, telemetry: Telemetry, queue: JobQueue) -> JobMetrics:
        provider = telemetry.meter_provider or metrics.get_meter_provider()
        return cls(provider.get_meter("betrue.server"), queue)

    def idle(self) -> bool:
        """True when nothing records (no SDK, no meter provider): the counts are then never read."""
        instrument: Any = self.runs
        if isinstance(instrument, NoOpCounter):
            return True
        return hasattr(instrument, "_real_instrument") and instrument._real_instrument is None

    def ran(self, command: str, outcome: str, seconds: float) -> None:
        """Count one attempt and its duration."""
        self.runs.add(1, {"command": command, "outcome": outcome})
        self.duration.record(seconds, {"command": command})

    async def refresh(self) -> None:
        """Read the counts by state from the queue, at most every ``REFRESH`` seconds."""
        if self.idle() or time.monotonic() - self._read_at < REFRESH:
            return
        self._read_at = time.monotonic()
        self.counts = await self.queue.stats()

    def _observe_counts(self, options: CallbackOptions) -> Iterable[Observation]:
        return [Observation(n, {"state": state}) for state, n in self.counts.items() if state != "oldest_queued_age"]

    def _observe_age(self, options: CallbackOptions) -> Iterable[Observation]:
        return [Observation(self.counts.get("oldest_queued_age", 0.0))]
