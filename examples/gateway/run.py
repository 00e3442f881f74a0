"""Start chat, game and the gateway as three processes; Ctrl-C stops all three cleanly (``make run-gateway``).

    python examples/gateway/run.py                  # gateway on http://127.0.0.1:3000, game 3001, chat 3002
    python examples/gateway/run.py --free-ports     # any free ports (what the tests use)

Each app is started with ``python -m examples.gateway.<app>`` and configured only by its environment:
``ROUTES`` sends game's chat calls to the chat process, ``GATEWAY_UPSTREAMS`` names both upstreams.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import sys
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[2]
STOP_GRACE = 15.0
READY_TIMEOUT = 30.0


def free_ports(count: int) -> list[int]:
    """Ports nobody listens on (held together while chosen, so they differ)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


async def spawn(app: str, env: dict[str, str]) -> asyncio.subprocess.Process:
    """``python -m examples.gateway.<app>`` in its own process group: Ctrl-C reaches run.py, which stops it."""
    environ = {**os.environ, "LOG_PRETTY": os.environ.get("LOG_PRETTY", "true"), **env}
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", f"examples.gateway.{app}", cwd=ROOT, env=environ, process_group=0
    )


async def wait_ready(url: str, process: asyncio.subprocess.Process) -> None:
    async with aiohttp.ClientSession() as session, asyncio.timeout(READY_TIMEOUT):
        while process.returncode is None:
            try:
                async with session.post(f"{url}/api/_app/health", json={}) as reply:
                    if reply.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} exited with code {process.returncode} before it was ready")


async def stop(processes: list[asyncio.subprocess.Process]) -> int:
    """SIGTERM each app (the gateway first), wait for its graceful stop, kill what outlives the grace."""
    for process in reversed(processes):
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
    try:
        async with asyncio.timeout(STOP_GRACE):
            codes = [await process.wait() for process in processes]
    except TimeoutError:
        for process in processes:
            if process.returncode is None:
                process.kill()
        return 1
    return 0 if all(code == 0 for code in codes) else 1


async def start_all(ports: tuple[int, int, int], processes: list[asyncio.subprocess.Process]) -> str:
    """Start chat and game, then the gateway once both answer; the gateway's URL."""
    gateway_port, game_port, chat_port = ports
    chat_url, game_url = f"http://127.0.0.1:{chat_port}", f"http://127.0.0.1:{game_port}"
    processes.append(await spawn("chat", {"HTTP_PORT": str(chat_port)}))
    processes.append(await spawn("game", {"HTTP_PORT": str(game_port), "ROUTES": f"chat={chat_url}"}))
    await asyncio.gather(wait_ready(chat_url, processes[0]), wait_ready(game_url, processes[1]))
    upstreams = f"game={game_url},chat={chat_url}"
    processes.append(await spawn("gateway", {"HTTP_PORT": str(gateway_port), "GATEWAY_UPSTREAMS": upstreams}))
    gateway_url = f"http://127.0.0.1:{gateway_port}"
    await wait_ready(gateway_url, processes[2])
    return gateway_url


async def main(ports: tuple[int, int, int]) -> int:
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopping.set)
    processes: list[asyncio.subprocess.Process] = []
    stopped = asyncio.ensure_future(stopping.wait())
    startup = asyncio.ensure_future(start_all(ports, processes))
    await asyncio.wait([stopped, startup], return_when=asyncio.FIRST_COMPLETED)
    if not startup.done():  # Ctrl-C while starting
        startup.cancel()
        await asyncio.gather(startup, return_exceptions=True)
        return await stop(processes)
    try:
        gateway_url = startup.result()
    except (RuntimeError, TimeoutError) as error:
        print(f"could not start the example: {error}", file=sys.stderr, flush=True)
        await stop(processes)
        return 1
    print(f"gateway ready on {gateway_url}", flush=True)
    print(
        f"  curl -X POST {gateway_url}/api/game/load -H 'Content-Type: application/json' "
        """-d '{"player": "ann"}'""",
        flush=True,
    )
    exited = [asyncio.ensure_future(process.wait()) for process in processes]
    await asyncio.wait([stopped, *exited], return_when=asyncio.FIRST_COMPLETED)
    if not stopping.is_set():
        stopped.cancel()
        print("an app exited on its own; stopping the others", file=sys.stderr, flush=True)
        await stop(processes)
        return 1
    return await stop(processes)


def parse() -> tuple[int, int, int]:
    parser = argparse.ArgumentParser(description="Run the gateway example as three processes.")
    parser.add_argument("--port", type=int, default=3000, help="the gateway's port")
    parser.add_argument("--game-port", type=int, default=3001)
    parser.add_argument("--chat-port", type=int, default=3002)
    parser.add_argument("--free-ports", action="store_true", help="pick three free ports instead")
    args = parser.parse_args()
    if args.free_ports:
        gateway, game, chat = free_ports(3)
        return gateway, game, chat
    return args.port, args.game_port, args.chat_port


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse())))
