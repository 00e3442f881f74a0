"""Run one comparison: both servers up, warm-up, then interleaved rounds betrue/baseline, then a clean stop.

Example:
    >>> plan = Plan.quick(20.0, generator="wrk", cpus=Cpus((0,), (1,)))
    >>> plan.rounds, plan.seconds, plan.cost()
    (3, 2.0, 18.0)
"""

from __future__ import annotations

import dataclasses
import math
import statistics
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field

from tools.bench.harness.load import http_load
from tools.bench.harness.model import Comparison, Generator, Measure, Measurement, Side, Target, Window
from tools.bench.harness.processes import Cpus, RunningServer, start_server

__all__ = ["ComparisonResult", "Plan", "SideResult", "quick_plan", "run_comparison"]

QUICK_BUDGET = 160.0
"""Seconds the comparisons of a ``--quick`` run may take (the check allows 180 for the whole command)."""
QUICK_PER_COMPARISON = 20.0
OVERHEAD = 4.0
"""Seconds a comparison spends outside load: starting and probing two servers, stopping them."""
_QUICK_SHAPES = ((3, 2.0), (2, 2.0), (3, 1.0), (2, 1.0), (1, 1.0))
"""(rounds, seconds per window) of ``--quick``, richest first: the planner takes the first that fits."""


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
    def quick(cls, budget: float, generator: Generator, cpus: Cpus, window_setup: float = 0.0) -> Plan:
        """The richest quick plan whose cost fits ``budget`` seconds (the poorest when none does)."""
        for rounds, seconds in _QUICK_SHAPES:
            plan = cls("quick", 1.0, seconds, rounds, generator, cpus)
            if plan.cost(window_setup) <= budget:
                break
        return plan

    @classmethod
    def full(cls, generator: Generator, cpus: Cpus) -> Plan:
        return cls("full", 5.0, 10.0, 5, generator, cpus)

    @classmethod
    def self_check(cls, generator: Generator, cpus: Cpus) -> Plan:
        return cls("self-check", 0.0, 1.0, 1, generator, cpus)

    def cost(self, window_setup: float = 0.0) -> float:
        """Seconds one comparison takes under this plan, its measure calls' set-up included."""
        calls = 2 * (self.rounds + (1 if self.warmup > 0 else 0))
        return OVERHEAD + 2 * self.warmup + 2 * self.rounds * self.seconds + calls * window_setup

    def window(self, connections: int, seconds: float, warmup: bool = False) -> Window:
        return Window(seconds, connections, self.cpus.load, self.generator, warmup)


def quick_plan(
    remaining: Sequence[Comparison], left: float, generator: Generator, cpus: Cpus, drift: float = 0.0
) -> Plan:
    """The plan of ``remaining[0]`` when ``left`` seconds are left for all of ``remaining``: its cheapest
    plan plus an equal share of the slack, 20 s at most (unless its cheapest plan alone takes longer).

    ``drift``: seconds the comparisons so far took beyond their plans' cost, on average (a busy machine
    starts servers slowly); each remaining comparison is expected to take that much longer too.
    """
    rounds, seconds = _QUICK_SHAPES[-1]
    poorest = Plan("quick", 1.0, seconds, rounds, generator, cpus)
    minimums = [poorest.cost(comparison.window_setup) + drift for comparison in remaining]
    share = max(0.0, left - sum(minimums)) / len(remaining)
    budget = min(max(QUICK_PER_COMPARISON, minimums[0]), minimums[0] + share) - drift
    return Plan.quick(budget, generator, cpus, remaining[0].window_setup)


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
    setups: list[float] = field(default_factory=list)
    """Seconds each measuring call took beyond its window (process start, connecting clients...)."""

    @property
    def setup_hint(self) -> str | None:
        """Advice when the measure's set-up overruns what the comparison declares (``window_setup``)."""
        if not self.setups:
            return None
        typical = statistics.median(self.setups)
        if typical <= self.comparison.window_setup + 1.0:
            return None
        return (
            f"{self.comparison.name}: each measuring call took {typical:.1f}s beyond its window; declare "
            f"window_setup={math.ceil(typical)} on the Comparison so --quick can budget it"
        )

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
                elapsed = time.monotonic() - started_at
                result.setups.append(max(0.0, elapsed - plan.seconds))
                cpu = (running.cpu_seconds() - cpu_before) / elapsed
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
