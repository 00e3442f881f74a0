"""Instructions per request, counted by callgrind: the steady figure on a loaded machine.

Wall-clock ratios move with the machine's load; the number of user-space instructions a server runs per
request does not. This driver runs one server of a comparison in-process without a listening client:
each request's bytes are fed to the server's aiohttp protocol and its response is read off a fake
transport, one request at a time on one keep-alive connection, so only the Python (and C extension) work
of serving is counted. Upstream calls of the gateway hop go over real loopback sockets to an upstream
served by this same process, so both halves of the hop are counted, as both run on the server's core.

    .venv/bin/python tools/bench/instructions.py                       # every target, under callgrind
    .venv/bin/python tools/bench/instructions.py validated baseline-validated -n 400
    .venv/bin/python tools/bench/instructions.py --run validated -n 2000   # no callgrind: just run it (timing)
    BENCH_ENV=LOG_CALLS=off .venv/bin/python tools/bench/instructions.py validated  # a default changed

Each target runs once under ``valgrind --tool=callgrind``: ``--warmup`` requests, then ``-n`` counted ones (the
counters are zeroed right before them and dumped right after, so start-up, imports and shutdown are not counted).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tools.bench.servers.payload import BODY  # noqa: E402

__all__ = ["TARGETS", "count", "main"]

_ORDER = (
    b"POST /api/bench/order HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    b"Content-Length: " + str(len(BODY)).encode() + b"\r\n\r\n" + BODY
)
_STATIC = b"GET /file-10k.bin HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
_PRODUCTION = {"LOG_LEVEL": "INFO", "LOG_PRETTY": "false", "LOG_CALLS": "all", "HTTP_HOST": "127.0.0.1"}


class FakeTransport(asyncio.Transport):
    """Collects what the protocol writes and resolves ``done`` once a whole response has arrived."""

    def __init__(self) -> None:
        super().__init__()
        self.buffer = bytearray()
        self.done: asyncio.Future[bytes] | None = None
        self.closing = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.buffer += data
        self._check()

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.buffer += line
        self._check()

    def _check(self) -> None:
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0 or self.done is None or self.done.done():
            return
        match = re.search(rb"(?i)\r\ncontent-length: *(\d+)", bytes(self.buffer[:end]))
        length = int(match[1]) if match else 0
        if len(self.buffer) >= end + 4 + length:
            response = bytes(self.buffer[: end + 4 + length])
            del self.buffer[: end + 4 + length]
            self.done.set_result(response)

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.closing = True

    def abort(self) -> None:
        self.closing = True

    def can_write_eof(self) -> bool:
        return False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 40000), "sockname": ("127.0.0.1", 8080)}.get(name, default)

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        return None

    def get_write_buffer_size(self) -> int:
        return 0

    def pause_reading(self) -> None:
        return None

    def resume_reading(self) -> None:
        return None


Protocol = Any
Target = Callable[[], "AsyncIterator[tuple[Protocol, bytes]]"]


@asynccontextmanager
async def _betrue_app(app: Any) -> AsyncIterator[Protocol]:
    await app.start()
    try:
        yield app.service("http").site._make_protocol()
    finally:
        await app.stop()


@asynccontextmanager
async def _aiohttp_app(web_app: Any) -> AsyncIterator[Protocol]:
    from aiohttp import web

    runner = web.AppRunner(web_app, access_log=None)
    await runner.setup()
    try:
        assert runner.server is not None
        yield runner.server()
    finally:
        await runner.cleanup()


def _environ(**extra: str) -> dict[str, str]:
    # BENCH_ENV="LOG_CALLS=off,..." changes a default for an experiment (what the log line costs, ...).
    changes = dict(item.split("=", 1) for item in filter(None, os.environ.get("BENCH_ENV", "").split(",")))
    return {**os.environ, **_PRODUCTION, "HTTP_PORT": "0", **changes, **extra}


@asynccontextmanager
async def validated() -> AsyncIterator[tuple[Protocol, bytes]]:
    """betrue: the validated command with production defaults (``http-validated-*``)."""
    from betrue.server import Application
    from tools.bench.servers.betrue_validated import bench

    async with _betrue_app(Application("bench", groups=[bench], env_file=None, environ=_environ())) as protocol:
        yield protocol, _ORDER


@asynccontextmanager
async def baseline_validated() -> AsyncIterator[tuple[Protocol, bytes]]:
    """Raw aiohttp + orjson + jsonschema-rs (``http-validated-vs-aiohttp``'s baseline)."""
    from tools.bench.servers.aiohttp_validated import make_app

    async with _aiohttp_app(make_app()) as protocol:
        yield protocol, _ORDER


@asynccontextmanager
async def gateway() -> AsyncIterator[tuple[Protocol, bytes]]:
    """betrue's gateway proxying to a betrue upstream served by this process (``gateway-hop-vs-aiohttp``)."""
    from betrue.server import Application
    from tools.bench.servers.betrue_validated import bench

    upstream = Application("bench", groups=[bench], env_file=None, environ=_environ())
    await upstream.start()
    try:
        url = upstream.service("http").url
        front = Application("gateway", env_file=None, environ=_environ(GATEWAY_UPSTREAMS=f"bench={url}"))
        front.proxy()
        async with _betrue_app(front) as protocol:
            yield protocol, _ORDER
    finally:
        await upstream.stop()


@asynccontextmanager
async def baseline_gateway() -> AsyncIterator[tuple[Protocol, bytes]]:
    """The raw aiohttp hop to a raw aiohttp upstream served by this process."""
    from aiohttp import web

    from tools.bench.servers.aiohttp_validated import make_app as make_upstream
    from tools.bench.servers.gateway_hop_aiohttp import make_app

    runner = web.AppRunner(make_upstream(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        async with _aiohttp_app(make_app(f"http://127.0.0.1:{port}")) as protocol:
            yield protocol, _ORDER
    finally:
        await runner.cleanup()


@asynccontextmanager
async def static() -> AsyncIterator[tuple[Protocol, bytes]]:
    """betrue-static serving the 10 KiB file from memory (``static-10k-*``)."""
    from betrue.server import Application
    from betrue.static import StaticService
    from tools.bench.servers.static_payload import ensure_root

    app = Application("bench-static", env_file=None, environ=_environ())
    app.add_service(StaticService, config={"root": str(ensure_root()), "prefix": "/", "log_files": False})
    async with _betrue_app(app) as protocol:
        yield protocol, _STATIC


@asynccontextmanager
async def baseline_static() -> AsyncIterator[tuple[Protocol, bytes]]:
    """A raw aiohttp handler answering bytes from a dict (``static-10k-vs-aiohttp-memory``'s baseline)."""
    from tools.bench.servers.static_aiohttp import make_app

    async with _aiohttp_app(make_app("memory")) as protocol:
        yield protocol, _STATIC


TARGETS: dict[str, Callable[[], Any]] = {
    "validated": validated,
    "baseline-validated": baseline_validated,
    "gateway": gateway,
    "baseline-gateway": baseline_gateway,
    "static": static,
    "baseline-static": baseline_static,
}


async def drive(target: str, requests: int, warmup: int = 0) -> float:
    """Serve ``warmup`` then ``requests`` requests of ``target`` one after the other; the seconds the latter took."""
    async with TARGETS[target]() as (protocol, request):
        transport = FakeTransport()
        protocol.connection_made(transport)
        loop = asyncio.get_running_loop()
        for _ in range(warmup):
            transport.done = loop.create_future()
            protocol.data_received(request)
            await asyncio.wait_for(transport.done, 30)
        os.getppid()  # callgrind's --zero-before: counting starts here
        started = time.perf_counter()
        for _ in range(requests):
            transport.done = loop.create_future()
            protocol.data_received(request)
            response: bytes = await asyncio.wait_for(transport.done, 30)
            if not response.startswith(b"HTTP/1.1 200"):
                raise SystemExit(f"{target}: unexpected answer {response[:300]!r}")
        elapsed = time.perf_counter() - started
        os.getpgrp()  # callgrind's --dump-before: counting ends here
        protocol.connection_lost(None)
        await asyncio.sleep(0)
        return elapsed


def count(target: str, requests: int, warmup: int) -> float:
    """User-space instructions per request of ``target``, counted over ``requests`` after ``warmup`` ones.

    callgrind zeroes its counters on ``os.getppid()`` and dumps them on ``os.getpgrp()``, which ``drive``
    calls right before and after the counted requests, so start-up, imports and shutdown are not counted.
    """
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "callgrind.out"
        argv = [
            *("valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"),
            *("--zero-before=os_getppid", "--dump-before=os_getpgrp"),
            *(sys.executable, str(Path(__file__).resolve()), "--run", target, "-n", str(requests)),
            *("--warmup", str(warmup)),
        ]
        environ = {**os.environ, "PYTHONHASHSEED": "0"}
        done = subprocess.run(argv, capture_output=True, text=True, check=False, cwd=ROOT, env=environ)
        if done.returncode != 0:
            raise SystemExit(f"{target} under callgrind failed:\n{done.stderr[-3000:]}")
        dumps = sorted(Path(folder).glob("callgrind.out.*"))
        if not dumps:
            raise SystemExit(f"callgrind wrote no dump for {target}:\n{done.stderr[-2000:]}")
        match = re.search(r"^summary: (\d+)", dumps[0].read_text(), re.MULTILINE)
        if match is None:
            raise SystemExit(f"no summary line in {dumps[0]}")
        return int(match[1]) / requests


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("targets", nargs="*", choices=[*TARGETS, []], help="default: all")
    parser.add_argument("-n", type=int, default=500, help="requests counted (default 500)")
    parser.add_argument("--warmup", type=int, default=200, help="requests served before counting (default 200)")
    parser.add_argument("--run", metavar="TARGET", choices=TARGETS, help="serve -n requests of TARGET and exit")
    args = parser.parse_args(argv)
    if args.run:
        elapsed = asyncio.run(drive(args.run, args.n, args.warmup))
        print(f"{args.run}: {args.n} requests in {elapsed:.3f}s ({elapsed / args.n * 1e6:.1f} µs each)")
        return 0
    counted: dict[str, float] = {}
    for target in args.targets or list(TARGETS):
        counted[target] = count(target, args.n, args.warmup)
        print(f"{target:20s} {counted[target] / 1000:8.1f}k instructions/request", flush=True)
    for name in ("validated", "gateway", "static"):
        if name in counted and f"baseline-{name}" in counted:
            print(f"ratio {name:12s} {counted[f'baseline-{name}'] / counted[name]:.3f} (baseline / betrue)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
