"""Server processes: a free port, a pinned core, readiness polling and a clean kill.

Example:
    >>> cpus = split_cpus()
    >>> len(cpus.server) <= 1
    True
"""

from __future__ import annotations

import contextlib
import http.client
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from tools.bench.harness.model import HttpRequest, Server, Side, Target

__all__ = ["ROOT", "Cpus", "RunningServer", "free_port", "pinned", "probe", "split_cpus", "start_server"]

ROOT = Path(__file__).resolve().parents[3]
"""The repository root: servers run from here, so ``python -m tools.bench...`` imports work."""

HOST = "127.0.0.1"
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class ServerError(RuntimeError):
    """A server did not start, exited early or answered the wrong thing."""


@dataclass(frozen=True)
class Cpus:
    """Which cores the server and the load generator get (empty tuples: no pinning)."""

    server: tuple[int, ...]
    load: tuple[int, ...]

    def describe(self) -> str:
        if not self.server:
            return "not pinned (fewer than 2 cores available)"
        return f"server on core {_cores(self.server)}, load generator on core {_cores(self.load)}"


def _cores(cores: tuple[int, ...]) -> str:
    return ",".join(map(str, cores))


def split_cpus() -> Cpus:
    """The first allowed core for the server, the second for the load generator."""
    allowed = sorted(os.sched_getaffinity(0))
    if len(allowed) < 2:
        return Cpus((), ())
    return Cpus((allowed[0],), (allowed[1],))


def pinned(argv: Sequence[str], cores: tuple[int, ...]) -> list[str]:
    """``argv`` run on ``cores`` through taskset (unchanged when there is nothing to pin or no taskset)."""
    if not cores or shutil.which("taskset") is None:
        return list(argv)
    return ["taskset", "-c", _cores(cores), *argv]


def free_port() -> int:
    """A port on 127.0.0.1 that was free a moment ago (the OS hands out a fresh ephemeral one)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class RunningServer:
    """A started server; ``stop()`` ends it (SIGTERM, then SIGKILL) and removes its log."""

    target: Target
    process: subprocess.Popen[bytes]
    log_path: Path
    log: IO[bytes]

    def tail(self, lines: int = 15) -> str:
        self.log.flush()
        text = self.log_path.read_bytes()[-8000:].decode(errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def cpu_seconds(self) -> float:
        """CPU time (user + system) the server process has used so far; 0.0 where /proc is missing."""
        try:
            fields = Path(f"/proc/{self.process.pid}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            return 0.0
        # After the command name: state is field 3, utime and stime are fields 14 and 15 (man 5 proc).
        return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS

    def stop(self, grace: float = 5.0) -> None:
        if self.process.poll() is None:
            # The server runs in its own session; signal that group, which only holds what we started.
            _signal_group(self.process, signal.SIGTERM)
            try:
                self.process.wait(grace)
            except subprocess.TimeoutExpired:
                _signal_group(self.process, signal.SIGKILL)
                self.process.wait(grace)
        self.log.close()
        self.log_path.unlink(missing_ok=True)


def _signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)


def start_server(server: Server, side: Side, cores: tuple[int, ...], request: HttpRequest | None) -> RunningServer:
    """Start ``server`` on a free port pinned to ``cores`` and wait until it is ready (or raise ServerError)."""
    port = free_port() if server.ready != "none" else None
    values = {"port": str(port)}
    argv = pinned([part.format_map(values) for part in server.argv], cores)
    env = {**os.environ, **{key: value.format_map(values) for key, value in server.env.items()}}
    # A file, not a pipe: a server logging every call would block once a pipe's buffer is full.
    log = tempfile.NamedTemporaryFile(prefix=f"bench-{side}-", suffix=".log", delete=False)  # noqa: SIM115
    process = subprocess.Popen(
        argv, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True
    )
    running = RunningServer(Target(side, server.label, HOST, port), process, Path(log.name), log)
    try:
        _wait_ready(running, server, request)
    except BaseException:
        running.stop()
        raise
    return running


def _wait_ready(running: RunningServer, server: Server, request: HttpRequest | None) -> None:
    deadline = time.monotonic() + server.startup_timeout
    last = "no answer yet"
    while time.monotonic() < deadline:
        if running.process.poll() is not None:
            raise ServerError(f"{server.label} exited with {running.process.returncode}:\n{running.tail()}")
        if server.ready == "none":
            return
        try:
            if server.ready == "tcp" or request is None:
                with socket.create_connection((HOST, running.target.port or 0), timeout=1.0):
                    return
            problem = probe(running.target, request)
            if problem is None:
                return
            if not problem.startswith("503"):
                raise ServerError(f"{server.label} answered wrongly: {problem}\n{running.tail()}")
            last = problem
        except OSError as error:
            last = str(error)
        time.sleep(0.05)
    raise ServerError(f"{server.label} not ready after {server.startup_timeout}s ({last}):\n{running.tail()}")


def probe(target: Target, request: HttpRequest) -> str | None:
    """Send ``request`` once; None when it answers the expected status and body, else what is wrong."""
    connection = http.client.HTTPConnection(target.host, target.port, timeout=5.0)
    try:
        connection.request(request.method, request.path, body=request.body or None, headers=dict(request.headers))
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()
    if response.status != request.expect_status:
        return f"{response.status} instead of {request.expect_status}: {body[:300]!r}"
    if request.check is not None and (problem := request.check(body)) is not None:
        return f"wrong body: {problem}: {body[:300]!r}"
    return None
