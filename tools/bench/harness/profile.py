"""Profile one side of a comparison under its own load: where the server's CPU time goes, per request.

With py-spy on the PATH (sampling, little distortion) the running server is sampled from outside; without it
the server runs under cProfile (deterministic, but its overhead inflates code made of many small calls).

Example:
    >>> area_of("handle (betrue/server/application.py)")
    'betrue'
"""

from __future__ import annotations

import cProfile
import dataclasses
import io
import pstats
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

from tools.bench.harness.load import http_load
from tools.bench.harness.model import Comparison, Generator, Server, Side, Window
from tools.bench.harness.processes import split_cpus, start_server

__all__ = ["area_of", "profile", "short"]

cProfile_module = cProfile.__name__  # run as ``python -m cProfile``; imported so the name is checked

# Leaf frames by where their code lives, first match wins: the areas a request's time is reported in.
_AREAS = (
    ("betrue", ("betrue/server/", "betrue/config/", "tools/bench/servers/")),
    ("logging (loguru)", ("loguru/",)),
    ("aiohttp", ("aiohttp/", "multidict/", "yarl/")),
    ("starlette/fastapi", ("starlette/", "fastapi/")),
    ("uvicorn", ("uvicorn/", "httptools/", "h11/")),
    ("pydantic", ("pydantic/", "pydantic_core/")),
    ("asyncio event loop", ("asyncio/", "selectors.py", "socket.py")),
    ("json / schema", ("orjson", "jsonschema_rs", "json/")),
)


def area_of(frame: str) -> str:
    """The area a py-spy frame (``function (path:line)``) belongs to."""
    for area, needles in _AREAS:
        if any(needle in frame for needle in needles):
            return area
    return "other (stdlib, builtins)"


def short(frame: str) -> str:
    """A py-spy frame with its path cut to the package: ``f (aiohttp/web_protocol.py:438)``.

    Example:
        >>> short("f (/x/.venv/lib/python3.11/site-packages/aiohttp/web.py:3)")
        'f (aiohttp/web.py:3)'
    """
    for marker in ("site-packages/", "/src/", "/lib/python3.11/", "/tools/bench/"):
        head, found, tail = frame.partition(marker)
        if found:
            name = head.partition(" (")[0]
            return f"{name} ({'tools/bench/' if marker == '/tools/bench/' else ''}{tail}"
    return frame


def profile(comparison: Comparison, side: Side, seconds: float, profiler: str, generator: Generator) -> int:
    """Load ``side`` of ``comparison`` for ``seconds`` while profiling it, then print where the time went."""
    if comparison.request is None:
        print("bench profile: only HTTP comparisons (request=...) can be profiled here")
        return 1
    chosen = profiler if profiler != "auto" else ("py-spy" if shutil.which("py-spy") else "cprofile")
    server = comparison.betrue if side == "betrue" else comparison.baseline
    out = Path(tempfile.mkdtemp(prefix="bench-profile-")) / "profile"
    if chosen == "cprofile":
        server = _under_cprofile(server, out)
    cpus = split_cpus()
    running = start_server(server, side, cpus.server, comparison.request)
    window = Window(seconds, comparison.connections, cpus.load, generator)
    try:
        http_load(comparison.request, running.target, dataclasses.replace(window, seconds=1.0, warmup=True))
        if chosen == "py-spy":
            sampler = [
                *("py-spy", "record", "--pid", str(running.process.pid), "--duration", str(round(seconds))),
                *("--rate", "500", "--format", "raw", "--function", "--full-filenames", "--nonblocking"),
                *("--output", str(out)),
            ]
            spy = subprocess.Popen(sampler, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        cpu_before = running.cpu_seconds()
        measured = http_load(comparison.request, running.target, window)
        cpu_used = running.cpu_seconds() - cpu_before
        if chosen == "py-spy":
            spy.wait(seconds + 30)
    finally:
        running.stop(grace=15.0)  # cProfile writes its file when the server exits normally
    print(f"bench profile: {comparison.name} {side} ({server.label}) with {chosen}, {seconds:g}s of load")
    per_request_us = cpu_used / measured.count * 1e6 if measured.count else 0.0
    print(
        f"bench profile: {measured.value:,.0f} {measured.unit} under the profiler, {measured.count} requests, "
        f"server CPU {cpu_used:.2f}s: {per_request_us:.0f} µs of CPU per request"
    )
    if chosen == "py-spy":
        _report_samples(out, per_request_us)
    else:
        _report_cprofile(out)
    return 0


def _under_cprofile(server: Server, out: Path) -> Server:
    argv = list(server.argv)
    if len(argv) < 3 or argv[0] != sys.executable or argv[1] != "-m":
        raise SystemExit("bench profile: cProfile can only wrap servers started with python_module(...)")
    return dataclasses.replace(server, argv=[argv[0], "-m", cProfile_module, "-o", str(out), *argv[1:]])


def _report_samples(path: Path, per_request_us: float) -> None:
    leaf: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    areas: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        count = int(count_text)
        frames = stack.split(";")
        total += count
        leaf[frames[-1]] += count
        areas[area_of(frames[-1])] += count
        for frame in set(frames):
            inclusive[frame] += count
    if not total:
        print("bench profile: no samples (is py-spy allowed to ptrace here?)")
        return
    print(f"\nwhere the CPU time goes, by area of the running code ({total} samples; µs of CPU per request)")
    for area, count in areas.most_common():
        print(f"  {count / total:6.1%}  {count / total * per_request_us:7.1f} µs  {area}")
    print("\nfunctions by own time")
    for frame, count in leaf.most_common(25):
        print(f"  {count / total:6.1%}  {count / total * per_request_us:7.1f} µs  {short(frame)}")
    print("\nbetrue functions by inclusive time (themselves and what they call)")
    # Frames on (nearly) every stack are the server's main loop, not the request path.
    ours = [(frame, n) for frame, n in inclusive.items() if area_of(frame) == "betrue" and n < 0.9 * total]
    for frame, count in sorted(ours, key=lambda item: -item[1])[:25]:
        print(f"  {count / total:6.1%}  {count / total * per_request_us:7.1f} µs  {short(frame)}")


def _report_cprofile(path: Path) -> None:
    if not path.exists():
        print("bench profile: the server wrote no profile (did it exit on SIGTERM?)")
        return
    for order in ("tottime", "cumulative"):
        text = io.StringIO()
        pstats.Stats(str(path), stream=text).strip_dirs().sort_stats(order).print_stats(30)
        print(f"\nby {order}:\n{text.getvalue()}")
