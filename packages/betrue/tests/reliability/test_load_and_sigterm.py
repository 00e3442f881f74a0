"""Load, then SIGTERM: the chat in its own process, clients on keep-alive connections and WebSockets
sending messages as fast as they are answered. Every request the server took is answered (a 503 with
``Connection: close`` once it stops accepting), none is cut off unanswered, and it exits in time."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from pathlib import Path

import aiohttp
import pytest

from .attack import TALLY, status_class
from .conftest import FAST_HASHES, GENEROUS, PASSWORD

FAMILY = "load, then SIGTERM"
ROOT = Path(__file__).resolve().parents[4]
SHUTDOWN = 3.0


async def start_server(database: str) -> tuple[asyncio.subprocess.Process, int]:
    env = {
        **os.environ,
        "DATABASE_URL": database,
        "PYTHONPATH": str(ROOT),
        "HTTP_PORT": "0",
        "LOG_LEVEL": "WARNING",
        "SHUTDOWN_TIMEOUT": str(SHUTDOWN),
        **FAST_HASHES,
        **GENEROUS,
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "betrue.server.cli", "run", "examples.chat.app:app",
        cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    assert process.stdout is not None
    async with asyncio.timeout(60):
        while b"http://127.0.0.1:" not in (line := await process.stdout.readline()):
            assert line, "the server exited before listening"
    return process, int(line.decode().split("http://127.0.0.1:")[1].split("/")[0])


class Outcome:
    def __init__(self) -> None:
        self.statuses: list[int] = []
        self.unanswered = 0


async def http_client(port: int, token: str, outcome: Outcome, stop: asyncio.Event) -> None:
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return  # refused: nothing was sent
    n = 0
    try:
        while True:
            n += 1
            body = json.dumps({"room": "general", "text": f"m{n}"}).encode()
            writer.write(
                f"POST /api/chat/send HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
            try:
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
                length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
                await reader.readexactly(length)
            except (asyncio.IncompleteReadError, ConnectionError):
                outcome.unanswered += 1  # written, and the connection closed without its answer
                return
            outcome.statuses.append(int(head.split()[1]))
            if b"connection: close" in head.lower():
                return
    finally:
        writer.close()


async def ws_client(port: int, outcome: Outcome) -> None:
    try:
        async with aiohttp.ClientSession() as session, session.ws_connect(f"http://127.0.0.1:{port}/ws") as ws:
            await ws.send_json({"id": 0, "command": "user/login", "params": {"name": "ann", "password": PASSWORD}})
            login = await ws.receive_json(timeout=30)
            outcome.statuses.append(login["code"])
            if login["code"] != 200:
                return  # a login flood is answered 429 (hashing is bounded): this client gives up
            await ws.send_json({"id": 1, "command": "chat/join", "params": {"room": "general"}})
            await ws.receive_json(timeout=30)
            for n in range(2, 100_000):
                await ws.send_json({"id": n, "command": "chat/history", "params": {"room": "general", "limit": 1}})
                while True:  # pushes (other clients' messages) come in between; wait for this call's answer
                    message = await ws.receive(timeout=30)
                    if message.type is not aiohttp.WSMsgType.TEXT:
                        if ws.close_code != 1001:  # 1001: the server closed after answering what it took
                            outcome.unanswered += 1
                        return
                    answer = json.loads(message.data)
                    if answer.get("id") == n:
                        outcome.statuses.append(answer["code"])
                        break
    except (aiohttp.ClientError, OSError, TimeoutError):
        return


async def run(database: str, http_clients: int, ws_clients: int, load_seconds: float) -> None:
    process, port = await start_server(database)
    outcome = Outcome()
    stop = asyncio.Event()
    try:
        async with aiohttp.ClientSession() as session:
            credentials = {"name": "ann", "password": PASSWORD}
            async with session.post(f"http://127.0.0.1:{port}/api/user/register", json=credentials) as reply:
                token = (await reply.json())["result"]["token"]
        clients = [asyncio.create_task(http_client(port, token, outcome, stop)) for _ in range(http_clients)]
        clients += [asyncio.create_task(ws_client(port, outcome)) for _ in range(ws_clients)]
        await asyncio.sleep(load_seconds)
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(SHUTDOWN * 2 + 20):
            code = await process.wait()
        took = time.monotonic() - started
        async with asyncio.timeout(30):
            await asyncio.gather(*clients)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    for status in outcome.statuses:  # 503: taken while stopping, answered with Connection: close
        TALLY.record(FAMILY, "chat", "unavailable" if status == 503 else status_class(status))
    for _ in range(outcome.unanswered):
        TALLY.record(FAMILY, "chat", "closed", lost=1)
    assert code == 0
    assert took < SHUTDOWN + 5  # the grace, once, plus the process's own exit
    assert outcome.unanswered == 0
    # 403: an HTTP send before any of ann's WebSocket connections joined the room (the join rule)
    assert set(outcome.statuses) <= {200, 403, 429, 503}, sorted(set(outcome.statuses))
    assert outcome.statuses.count(200) > http_clients


async def test_sigterm_under_load_answers_every_request_it_took(chat_database: str) -> None:
    await run(chat_database, http_clients=20, ws_clients=3, load_seconds=1.5)


@pytest.mark.slow
async def test_sigterm_under_heavy_load_answers_every_request_it_took(chat_database: str) -> None:
    await run(chat_database, http_clients=150, ws_clients=20, load_seconds=10)
