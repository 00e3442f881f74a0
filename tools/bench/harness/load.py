r"""Load generators: wrk (installed when missing) or the Python one, behind one ``http_load`` call.

Every generator prints one ``BENCH_JSON {...}`` line (value, unit, p50_ms, p99_ms, errors, count) that
``run_load_script`` reads; a custom measure can run its own script the same way.

Example:
    >>> lua_string(b"hi")
    '"\\104\\105"'
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from tools.bench.harness.model import Generator, HttpRequest, Measurement, Target, Window
from tools.bench.harness.processes import ROOT, pinned

__all__ = ["choose_generator", "http_load", "lua_string", "raw_request", "run_load_script"]

MARK = "BENCH_JSON "

_WRK_DONE = """
done = function(summary, latency, requests)
  local e = summary.errors
  local seconds = summary.duration / 1e6
  io.write(string.format(
    'BENCH_JSON {"value": %f, "unit": "req/s", "p50_ms": %f, "p99_ms": %f, "errors": %d, "count": %d}\\n',
    summary.requests / seconds, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    e.connect + e.read + e.write + e.timeout + e.status, summary.requests))
end
"""


def choose_generator(prefer: str = "auto") -> tuple[Generator, str]:
    """("wrk" | "python", a sentence saying which and why). Installs wrk with apt-get when root and missing."""
    if prefer == "python":
        return "python", "python (tools/bench/harness/loadgen.py, asked for with --load python)"
    found = shutil.which("wrk") or _install_wrk()
    if found is not None:
        return "wrk", f"wrk ({found}, {_wrk_version(found)})"
    if prefer == "wrk":
        raise RuntimeError("wrk was asked for but is not installed and could not be installed")
    return "python", "python (tools/bench/harness/loadgen.py: wrk missing and not installable here)"


def _install_wrk() -> str | None:
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return None
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    print("bench: wrk is missing; installing it with apt-get", flush=True)
    for steps in (
        [["apt-get", "install", "-y", "-q", "wrk"]],
        [["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", "wrk"]],
    ):
        try:
            if all(subprocess.run(step, env=env, capture_output=True, timeout=300).returncode == 0 for step in steps):
                return shutil.which("wrk")
        except subprocess.TimeoutExpired:
            return None
    return None


def _wrk_version(path: str) -> str:
    result = subprocess.run([path, "-v"], capture_output=True, text=True, timeout=10)
    words = (result.stdout + result.stderr).split()
    return " ".join(words[:2]) if words else "unknown version"


def lua_string(data: bytes) -> str:
    """``data`` as a Lua string literal, every byte escaped (any body survives, whatever it holds)."""
    return '"' + "".join(f"\\{byte}" for byte in data) + '"'


def raw_request(request: HttpRequest, target: Target) -> bytes:
    """The HTTP/1.1 keep-alive request bytes the Python generator repeats."""
    headers = {"Host": f"{target.host}:{target.port}", **request.headers}
    if request.body or request.method in {"POST", "PUT", "PATCH"}:
        headers["Content-Length"] = str(len(request.body))
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    return f"{request.method} {request.path} HTTP/1.1\r\n{head}\r\n".encode("latin-1") + request.body


def http_load(request: HttpRequest, target: Target, window: Window) -> Measurement:
    """Repeat ``request`` against ``target`` over ``window.connections`` keep-alive connections."""
    if window.generator == "wrk":
        return _wrk(request, target, window)
    argv = [
        *(sys.executable, "-m", "tools.bench.harness.loadgen"),
        *("--host", target.host, "--port", str(target.port)),
        *("--seconds", str(window.seconds), "--connections", str(window.connections)),
        *("--raw", base64.b64encode(raw_request(request, target)).decode()),
    ]
    return run_load_script(argv, window)


def _wrk(request: HttpRequest, target: Target, window: Window) -> Measurement:
    lines = [f"wrk.method = {lua_string(request.method.encode())}", f"wrk.body = {lua_string(request.body)}"]
    lines += [f"wrk.headers[{lua_string(k.encode())}] = {lua_string(v.encode())}" for k, v in request.headers.items()]
    with tempfile.NamedTemporaryFile("w", suffix=".lua", prefix="bench-") as script:
        script.write("\n".join(lines) + "\n" + _WRK_DONE)
        script.flush()
        threads = max(1, len(window.load_cpus))
        argv = [
            *("wrk", f"-t{threads}", f"-c{window.connections}", f"-d{max(1, round(window.seconds))}s"),
            *("--timeout", "5s", "-s", script.name, target.url + request.path),
        ]
        return run_load_script(argv, window)


def run_load_script(argv: Sequence[str], window: Window, timeout: float | None = None) -> Measurement:
    """Run a load generator pinned to the load cores; read the ``BENCH_JSON {...}`` line it prints last.

    Example (in a custom measure):
        >>> def fanout(target, window):  # doctest: +SKIP
        ...     return run_load_script([sys.executable, "-m", "tools.bench.loaders.ws_fanout", target.url,
        ...                             str(window.seconds)], window)
    """
    limit = timeout if timeout is not None else window.seconds * 2 + 30
    result = subprocess.run(
        pinned(argv, window.load_cpus), cwd=ROOT, capture_output=True, text=True, timeout=limit, check=False
    )
    for line in reversed(result.stdout.splitlines()):
        if line.startswith(MARK):
            data = json.loads(line[len(MARK) :])
            return Measurement(
                value=float(data["value"]),
                unit=str(data.get("unit", "req/s")),
                p50_ms=_optional(data.get("p50_ms")),
                p99_ms=_optional(data.get("p99_ms")),
                errors=int(data.get("errors", 0)),
                count=int(data.get("count", 0)),
            )
    raise RuntimeError(
        f"{Path(argv[0]).name} printed no {MARK.strip()} line (exit {result.returncode}):\n"
        f"{result.stdout[-1500:]}{result.stderr[-1500:]}"
    )


def _optional(value: object) -> float | None:
    return None if value is None else float(value)  # type: ignore[arg-type]
