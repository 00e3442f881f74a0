"""The command line of ``tools/bench/run.py``: choose comparisons and a plan, run them, print the report.

Example:
    >>> parse(["--full", "--only", "http-*"]).only
    ['http-*']
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import time
from collections.abc import Sequence
from pathlib import Path

from tools.bench.harness.discovery import discover, select
from tools.bench.harness.load import choose_generator, http_load
from tools.bench.harness.model import Comparison
from tools.bench.harness.processes import split_cpus, start_server
from tools.bench.harness.profile import profile
from tools.bench.harness.report import print_results, write_json
from tools.bench.harness.runner import QUICK_BUDGET, ComparisonResult, Plan, quick_plan, run_comparison

__all__ = ["main", "parse"]

SELF_CHECK = "http-validated-vs-aiohttp"


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="tools/bench/run.py", description="betrue against its baselines.")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="short windows, whole run under 3 minutes (default)")
    mode.add_argument("--full", action="store_true", help="longer windows, 3 rounds per side")
    mode.add_argument("--self-check", action="store_true", help="2-second sanity run of one comparison")
    mode.add_argument("--list", action="store_true", help="list the comparisons and exit")
    parser.add_argument("--only", nargs="+", default=[], metavar="NAME", help="names or shell patterns")
    parser.add_argument("--load", choices=["auto", "wrk", "python"], default="auto", help="load generator")
    parser.add_argument("--json", type=Path, help="also write the results to this JSON file")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a goal is not met")
    mode.add_argument("--profile", metavar="NAME", help="profile one side of comparison NAME under load")
    parser.add_argument("--side", choices=["betrue", "baseline"], default="betrue", help="side to --profile")
    parser.add_argument("--seconds", type=float, default=10.0, help="seconds of load while profiling")
    parser.add_argument("--profiler", choices=["auto", "py-spy", "cprofile"], default="auto")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run and report; exit 1 when a comparison failed to run (or, with --strict, missed its goal)."""
    args = parse(argv)
    comparisons, broken = discover()
    if args.list:
        for comparison in comparisons:
            print(f"{comparison.name:40} goal {comparison.goal:.2f}  {comparison.description}")
        return 0
    if args.self_check:
        return self_check(comparisons, args.load)
    if args.profile:
        generator, _ = choose_generator(args.load)
        (comparison,) = select(comparisons, [args.profile])
        return profile(comparison, args.side, args.seconds, args.profiler, generator)
    chosen = select(comparisons, args.only)
    generator, described = choose_generator(args.load)
    cpus = split_cpus()
    plan = Plan.full(generator, cpus) if args.full else quick_plan(chosen, QUICK_BUDGET, generator, cpus)
    print(f"bench: {plan.mode}, {len(chosen)} comparison(s), about {estimate(chosen, plan):.0f}s")
    print(f"bench: load generator: {described}")
    print(f"bench: {cpus.describe()}")
    print(f"bench: {machine_load()}")
    if plan.mode == "quick" and estimate(chosen, plan) > QUICK_BUDGET:
        print(f"bench: WARNING: {len(chosen)} comparisons do not fit the {QUICK_BUDGET:.0f}s quick budget")
    for module, error in broken.items():
        print(f"bench: WARNING: {module} failed to import: {error}")
    started = time.monotonic()
    results: list[ComparisonResult] = []
    for index, comparison in enumerate(chosen):
        if plan.mode == "quick":  # plan each with the budget left, so an overrun shortens the ones after it
            drifts = [r.seconds - r.plan.cost(r.comparison.window_setup) for r in results if r.plan is not None]
            drift = max(0.0, sum(drifts) / len(drifts)) if drifts else 0.0
            left = QUICK_BUDGET - (time.monotonic() - started)
            plan = quick_plan(chosen[index:], left, generator, cpus, drift)
        print(f"bench: {comparison.name} ...", flush=True)
        result = run_comparison(comparison, plan)
        print(f"bench: {comparison.name} done in {result.seconds:.1f}s", flush=True)
        results.append(result)
    print_results(results, plan)
    print(f"\nbench: {len(results)} comparison(s) in {time.monotonic() - started:.0f}s")
    if args.json is not None:
        write_json(args.json, results, plan, generator)
    failed = bool(broken) or any(result.error is not None for result in results)
    missed = any(not result.met for result in results)
    return 1 if failed or (args.strict and missed) else 0


def estimate(chosen: Sequence[Comparison], plan: Plan) -> float:
    """Seconds the run should take: each comparison's plan as the quick planner will make it, or ``plan``."""
    if plan.mode != "quick":
        return sum(plan.cost(comparison.window_setup) for comparison in chosen)
    total = 0.0
    for index, comparison in enumerate(chosen):
        planned = quick_plan(chosen[index:], QUICK_BUDGET - total, plan.generator, plan.cpus)
        total += planned.cost(comparison.window_setup)
    return total


def machine_load() -> str:
    """The 1-minute load average against the core count: above ~1, other work competes with the benchmark."""
    load = os.getloadavg()[0]
    cores = os.cpu_count() or 1
    busy = " (other work is running: expect noisy figures)" if load > 1.0 else ""
    return f"load average {load:.2f} on {cores} cores{busy}"


def self_check(comparisons: Sequence[Comparison], load: str) -> int:
    """One comparison for one second per side, and one second of the Python generator when wrk is used."""
    generator, described = choose_generator(load)
    cpus = split_cpus()
    plan = Plan.self_check(generator, cpus)
    print(f"bench self-check: load generator: {described}; {cpus.describe()}")
    comparison = next((c for c in comparisons if c.name == SELF_CHECK), comparisons[0])
    result = run_comparison(comparison, plan)
    print_results([result], plan)
    problems = [] if result.error is None else [result.error]
    if generator == "wrk" and comparison.request is not None:
        problems += _python_generator_check(comparison, plan)
    for problem in problems:
        print(f"bench self-check: FAILED: {problem}")
    if not problems:
        print("bench self-check: ok")
    return 1 if problems else 0


def _python_generator_check(comparison: Comparison, plan: Plan) -> list[str]:
    """The fallback generator must work too, though this machine has wrk: one second on the baseline."""
    assert comparison.request is not None
    running = start_server(comparison.baseline, "baseline", plan.cpus.server, comparison.request)
    try:
        window = dataclasses.replace(plan.window(comparison.connections, 1.0), generator="python")
        measured = http_load(comparison.request, running.target, window)
    except Exception as error:
        return [f"python load generator: {type(error).__name__}: {error}"]
    finally:
        running.stop()
    print(f"bench self-check: python generator on the baseline: {measured.value:,.0f} {measured.unit}")
    if measured.count == 0 or measured.errors:
        return [f"python load generator: {measured.count} responses, {measured.errors} errors"]
    return []
