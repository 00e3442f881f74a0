"""``make run-cluster``: the chat as 2 gateways, 2 chat instances and a worker, each its own process.

    python examples/chat/run_cluster.py                # gateways on http://127.0.0.1:3001 and :3002
    python examples/chat/run_cluster.py --free-ports   # any free ports (what the tests use)

Without ``NATS_URL`` an embedded nats-server is started (data in ``.betrue/nats-cluster``), without
``DATABASE_URL`` the embedded PostgreSQL (``.betrue/postgres``, as ``make run``). ``JWT_SECRET`` and
``AUTH_SERVICE_SECRET`` are made once here and given to every process. The page of either gateway knows
both (``CHAT_SERVERS``) and moves to the other when its own goes away. A process that dies is reported
and the others go on (that is what the cluster is for); Ctrl-C stops them all.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import signal
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from examples.gateway.run import free_ports, wait_ready  # noqa: E402

STOP_GRACE = 15.0


async def spawn(name: str, argv: list[str], env: dict[str, str]) -> asyncio.subprocess.Process:
    """``betrue run|worker examples.chat.cluster:<app>`` in its own process group (Ctrl-C reaches this script)."""
    environ = {**os.environ, "LOG_PRETTY": os.environ.get("LOG_PRETTY", "true"), **env}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "betrue.server.cli", *argv, cwd=ROOT, env=environ, process_group=0
    )
    print(f"{name}: pid {process.pid}", flush=True)
    return process


async def backing_services(environ: dict[str, str]) -> list[object]:
    """Fill NATS_URL and DATABASE_URL with embedded servers when they are not given; what to stop at the end."""
    keep: list[object] = []
    if not environ.get("NATS_URL"):
        from betrue.nats import EmbeddedNats

        embedded = EmbeddedNats(ROOT / ".betrue" / "nats-cluster")
        environ["NATS_URL"] = await embedded.start()
        keep.append(embedded)
        print(f"nats: embedded at {environ['NATS_URL']}", flush=True)
    if not environ.get("DATABASE_URL"):
        from betrue.postgres.embedded import start_embedded

        environ["DATABASE_URL"] = await asyncio.to_thread(start_embedded, ROOT / ".betrue" / "postgres")
        print("database: embedded PostgreSQL, data in .betrue/postgres", flush=True)
    return keep


async def main(ports: tuple[int, int]) -> int:
    environ = {name: os.environ[name] for name in ("NATS_URL", "DATABASE_URL") if os.environ.get(name)}
    embedded = await backing_services(environ)
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    shared = {
        **environ,
        "JWT_SECRET": os.environ.get("JWT_SECRET") or secrets.token_urlsafe(32),
        "AUTH_SERVICE_SECRET": os.environ.get("AUTH_SERVICE_SECRET") or secrets.token_urlsafe(32),
        "CHAT_SERVERS": ",".join(url.replace("http", "ws", 1) + "/ws" for url in urls),
        "WS_ORIGINS": ",".join([*urls, *(url.replace("127.0.0.1", "localhost") for url in urls)]),
    }
    shared_backend = {**shared, "HTTP_PORT": "0"}  # their HTTP port only answers probes
    processes: list[asyncio.subprocess.Process] = []
    for number in (1, 2):
        processes.append(await spawn(f"chat {number}", ["run", "examples.chat.cluster:service"], shared_backend))
    processes.append(await spawn("worker", ["worker", "examples.chat.cluster:worker"], shared_backend))
    for number, (port, url) in enumerate(zip(ports, urls, strict=True), start=1):
        process = await spawn(
            f"gateway {number}", ["run", "examples.chat.cluster:gateway"], {**shared, "HTTP_PORT": str(port)}
        )
        processes.append(process)
        await wait_ready(url, process)
        print(f"gateway {number}: open {url}/ in a browser", flush=True)
    print("cluster ready: " + " ".join(urls), flush=True)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopping.set)
    watchers = [asyncio.ensure_future(_report(process, stopping)) for process in processes]
    await stopping.wait()
    code = await stop(processes)
    for watcher in watchers:
        watcher.cancel()
    for server in embedded:
        await server.stop()  # type: ignore[attr-defined]
    return code


async def _report(process: asyncio.subprocess.Process, stopping: asyncio.Event) -> None:
    code = await process.wait()
    if not stopping.is_set():
        print(f"pid {process.pid} exited with code {code}; the others go on", file=sys.stderr, flush=True)


async def stop(processes: list[asyncio.subprocess.Process]) -> int:
    """SIGTERM every process (gateways first), wait for their graceful stop, kill what outlives the grace."""
    for process in reversed(processes):
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
    try:
        async with asyncio.timeout(STOP_GRACE):
            for process in processes:
                await process.wait()
    except TimeoutError:
        for process in processes:
            if process.returncode is None:
                process.kill()
        return 1
    return 0


def parse() -> tuple[int, int]:
    parser = argparse.ArgumentParser(description="Run the chat as a cluster of processes.")
    parser.add_argument("--ports", type=int, nargs=2, default=(3001, 3002), help="the two gateways' ports")
    parser.add_argument("--free-ports", action="store_true", help="pick two free ports instead")
    args = parser.parse_args()
    if args.free_ports:
        first, second = free_ports(2)
        return first, second
    return args.ports[0], args.ports[1]


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse())))
