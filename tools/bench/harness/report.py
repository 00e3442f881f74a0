"""What a run prints: one table of both sides of every comparison, then one ``RATIO`` line each.

Example:
    >>> ratio_line("demo", 0.91234, 0.85, None)
    'RATIO demo 0.91 (goal >= 0.85: met)'
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tools.bench.harness.runner import ComparisonResult, Plan

__all__ = ["print_results", "ratio_line", "write_json"]

_COLUMNS = (
    *("comparison", "side", "server", "value", "unit", "p50 ms", "p99 ms"),
    *("errors", "rounds", "spread", "cpu", "per core"),
)
_BUSY = 0.9
"""Below this share of its core, a server was starved by other work on the machine (or the load was too light)."""


def _number(value: float | None, digits: int = 2) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.{digits}f}"


def ratio_line(name: str, ratio: float | None, goal: float, error: str | None, per_core: float | None = None) -> str:
    """``RATIO <name> <betrue/baseline>`` with 2 decimals, whether the goal is met, and the per-core ratio."""
    if ratio is None:
        reason = (error or "no result").splitlines()[0]
        return f"RATIO {name} n/a (goal >= {goal:.2f}: not measured: {reason})"
    verdict = "met" if round(ratio, 2) >= goal else "NOT met"
    steadier = "" if per_core is None else f"; per core {per_core:.2f}"
    return f"RATIO {name} {ratio:.2f} (goal >= {goal:.2f}: {verdict}{steadier})"


def _rounds(result: ComparisonResult) -> str:
    plan = result.plan
    return "-" if plan is None else f"{plan.rounds}×{plan.seconds:g}s"


def _rows(results: list[ComparisonResult]) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for result in results:
        name = result.comparison.name
        for side_name in ("betrue", "baseline"):
            side = result.sides.get(side_name)
            if side is None or not side.rounds:
                continue
            rows.append(
                (
                    name,
                    side_name,
                    side.label,
                    _number(side.value),
                    side.unit,
                    _number(side.p50_ms),
                    _number(side.p99_ms),
                    str(side.errors),
                    _rounds(result),
                    f"{side.spread:.0%}",
                    "-" if side.server_cpu is None else f"{side.server_cpu:.0%}",
                    _number(side.per_core),
                )
            )
            name = ""
        if result.error is not None and name:
            rows.append((name, "-", "failed (see below)", *("-",) * (len(_COLUMNS) - 3)))
    return rows


def print_results(results: list[ComparisonResult], plan: Plan) -> None:
    """The table, the errors in full, then the RATIO lines."""
    rows = [_COLUMNS, *_rows(results)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(_COLUMNS))]
    numeric = {3, 5, 6, 7, 8, 9, 10, 11}
    print()
    for index, row in enumerate(rows):
        cells = [cell.rjust(widths[i]) if i in numeric else cell.ljust(widths[i]) for i, cell in enumerate(row)]
        print("  ".join(cells).rstrip())
        if index == 0:
            print("  ".join("-" * width for width in widths))
    print(
        f"\nvalue, latencies, cpu: medians over the rounds (rounds × seconds per side, after {plan.warmup:g}s of "
        "warm-up); spread: (max - min) / median of the rounds' values;\n"
        "cpu: share of its core the server used; per core: value / cpu, the rate on a core of its own"
    )
    starved = [
        f"{result.comparison.name} {name}"
        for result in results
        for name, side in result.sides.items()
        if side.server_cpu is not None and side.server_cpu < _BUSY
    ]
    if starved:
        print(
            f"WARNING: server below {_BUSY:.0%} of its core ({', '.join(starved)}): other work on this machine "
            "took CPU (or the load was too light); trust the per-core ratio more than the raw one"
        )
    for result in results:
        if result.error is not None:
            print(f"\nERROR {result.comparison.name}: {result.error}")
    for result in results:
        if (hint := result.setup_hint) is not None:
            print(f"HINT {hint}")
    print()
    for result in results:
        comparison = result.comparison
        print(ratio_line(comparison.name, result.ratio, comparison.goal, result.error, result.per_core_ratio))


def write_json(path: Path, results: list[ComparisonResult], plan: Plan, generator: str) -> None:
    """Machine-readable results, for tracking ratios over time."""
    data: dict[str, Any] = {"mode": plan.mode, "generator": generator, "cpus": plan.cpus.describe(), "results": []}
    for result in results:
        entry: dict[str, Any] = {
            "name": result.comparison.name,
            "goal": result.comparison.goal,
            "ratio": result.ratio,
            "met": result.met,
            "per_core_ratio": result.per_core_ratio,
            "error": result.error,
            "sides": {},
        }
        for side_name, side in result.sides.items():
            entry["sides"][side_name] = {
                "label": side.label,
                "value": side.value if side.rounds else None,
                "unit": side.unit,
                "p50_ms": side.p50_ms,
                "p99_ms": side.p99_ms,
                "errors": side.errors,
                "server_cpu": side.server_cpu,
                "per_core": side.per_core,
                "rounds": [m.value for m in side.rounds],
            }
        data["results"].append(entry)
    path.write_text(json.dumps(data, indent=2) + "\n")
