"""Run one comparison: both servers up, warm-up, then interleaved rounds betrue/baseline, then a clean stop.

Example:
    >>> Plan.quick(count=2, generator="wrk", cpus=Cpus((0,), (1,))).seconds
    2.0
"""

from __future__ import annotations

import dataclasses
import math
import statistics
import time
import traceback
from dataclasses import dataclass, field

from tools.bench.harness.load import http_load
from tools.bench.harness.model import Comparison, Generator, Measure, Measurement, Side, Target, Window
from tools.bench.harness.processes import Cpus, RunningServer, start_server

__all__ = ["ComparisonResult", "Plan", "SideResult", "run_comparison"]

QUICK_BUDGET = 170.0
"""Seconds the whole ``--quick`` run may take (the check allows 180)."""
QUICK_PER_COMPARISON = 20.0
OVERHEAD = 4.0
"""Seconds a comparison spends outside load: starting and probing two servers, stopping them."""


@dataclass(frozen=True)
class Plan:
    """How long each window is: ``warmup`` once per side, then ``rounds`` × ``seconds`` per side."""

    mode: str
    warmup: float
    seconds: float
    rounds: int
    generator: Generator
    cpus: Cpus

    @classmethod
    def quick(cls, count: int, generator: Generator, cpus: Cpus, budget: float = QUICK_BUDGET) -> Plan:
        """Fits ``count`` comparisons in ``budget`` seconds: ~20 s each, fewer and shorter rounds when there
        are many. The run calls it again before each comparison with what is left, so overruns self-correct."""
        per = min(QUICK_PER_COMPARISON, budget / max(1, count))
        warmup = 1.0
        rounds = 3 if per >= 12 else 2 if per >= 10 else 1
        seconds = float(max(1, math.floor((per - OVERHEAD - 2 * warmup) / (2 * rounds))))
        return cls("quick", warmup, seconds, rounds, generator, cpus)

    @classmethod
    def full(cls, generator: Generator, cpus: Cpus) -> Plan:
        return cls("full", 5.0, 10.0, 5, generator, cpus)

    @classmethod
    def self_check(cls, generator: Generator, cpus: Cpus) -> Plan:
        return cls("self-check", 0.0, 1.0, 1, generator, cpus)

    def estimate(self) -> float:
        """Seconds one comparison takes under this plan."""
        return OVERHEAD + 2 * self.warmup + 2 * self.rounds * self.seconds

    def window(self, connections: int, seconds: float, warmup: bool = False) -> Window:
        return Window(seconds, connections, self.cpus.load, self.generator, warmup)


@dataclass
class SideResult:
    """One side over all its rounds; the figures shown are medians across rounds."""

    label: str
    rounds: list[Measurement] = field(default_factory=list)

    @property
    def value(self) -> float:
        return statistics.median(m.value for m in self.rounds)

    @property
    def unit(self) -> str:
        return self.rounds[0].unit if self.rounds else ""

    @property
    def p50_ms(self) -> float | None:
        values = [m.p50_ms for m in self.rounds if m.p50_ms is not None]
        return statistics.median(values) if values else None

    @property
    def p99_ms(self) -> float | None:
        values = [m.p99_ms for m in self.rounds if m.p99_ms is not None]
        return statistics.median(values) if values else None

    @property
    def server_cpu(self) -> float | None:
        values = [m.server_cpu for m in self.rounds if m.server_cpu is not None]
        return statistics.median(values) if values else None

    @property
    def per_core(self) -> float | None:
        """``value`` divided by the share of a core the server got: the rate on a whole core of its own.

        On a machine shared with other work the server may get far less than its core; its cost per request
        changes much less than its throughput then, so this is the steadier figure to compare.
        """
        values = [m.value / m.server_cpu for m in self.rounds if m.server_cpu]
        return statistics.median(values) if values else None

    @property
    def errors(self) -> int:
        return sum(m.errors for m in self.rounds)

    @property
    def spread(self) -> float:
        """(max - min) / median of the rounds' values: how much to trust the figure."""
        values = [m.value for m in self.rounds]
        return (max(values) - min(values)) / self.value if len(values) > 1 and self.value else 0.0

    @property
    def error_rate(self) -> float:
        count = sum(m.count for m in self.rounds)
        return self.errors / count if count else (1.0 if self.errors else 0.0)


@dataclass
class ComparisonResult:
    comparison: Comparison
    sides: dict[Side, SideResult] = field(default_factory=dict)
    error: str | None = None
    seconds: float = 0.0
    plan: Plan | None = None

    @property
    def ratio(self) -> float | None:
        if self.error is not None or len(self.sides) < 2:
            return None
        betrue, baseline = self.sides["betrue"].value, self.sides["baseline"].value
        if self.comparison.lower_is_better:
            return baseline / betrue if betrue else None
        return betrue / baseline if baseline else None

    @property
    def per_core_ratio(self) -> float | None:
        """The ratio of ``SideResult.per_core`` figures (None for lower-is-better comparisons)."""
        if self.ratio is None or self.comparison.lower_is_better:
            return None
        betrue, baseline = self.sides["betrue"].per_core, self.sides["baseline"].per_core
        return betrue / baseline if betrue and baseline else None

    @property
    def met(self) -> bool:
        return self.ratio is not None and round(self.ratio, 2) >= self.comparison.goal


def run_comparison(comparison: Comparison, plan: Plan) -> ComparisonResult:
    """Measure both sides of ``comparison`` in this run; never raises (a failure becomes ``error``)."""
    started = time.monotonic()
    result = ComparisonResult(comparison, plan=plan)
    servers: list[RunningServer] = []
    try:
        for side, server in (("betrue", comparison.betrue), ("baseline", comparison.baseline)):
            servers.append(start_server(server, side, plan.cpus.server, comparison.request))  # type: ignore[arg-type]
        measure = _measure_of(comparison)
        targets = [running.target for running in servers]
        for target in targets:
            result.sides[target.side] = SideResult(target.label)
            if plan.warmup > 0:
                measure(target, plan.window(comparison.connections, plan.warmup, warmup=True))
        for round_index in range(plan.rounds):
            # Alternate who goes first so a drift of the machine does not favour one side.
            for target in targets if round_index % 2 == 0 else reversed(targets):
                running = servers[0] if target.side == "betrue" else servers[1]
                cpu_before, started_at = running.cpu_seconds(), time.monotonic()
                measurement = measure(target, plan.window(comparison.connections, plan.seconds))
                cpu = (running.cpu_seconds() - cpu_before) / (time.monotonic() - started_at)
                result.sides[target.side].rounds.append(dataclasses.replace(measurement, server_cpu=cpu))
        for measured in result.sides.values():
            if measured.error_rate > 0.001:
                result.error = f"{measured.label}: {measured.errors} errors (non-2xx or socket) while measuring"
    except Exception as error:
        result.error = f"{type(error).__name__}: {error}"
        if not isinstance(error, RuntimeError):
            result.error += "\n" + traceback.format_exc(limit=4)
    finally:
        for running in servers:
            running.stop()
    result.seconds = time.monotonic() - started
    return result


def _measure_of(comparison: Comparison) -> Measure:
    if comparison.measure is not None:
        return comparison.measure
    request = comparison.request
    assert request is not None

    def measure(target: Target, window: Window) -> Measurement:
        return http_load(request, target, window)

    return measure
