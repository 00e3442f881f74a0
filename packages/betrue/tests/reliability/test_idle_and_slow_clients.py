"""Idle and slow clients: sockets that never speak, headers and bodies dribbled, and the case that took the
chat down: 1,100+ idle sockets against a server allowed 1,024 file handles (run in its own process)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import sys
import time
from pathlib import Path

import pytest

from .attack import TALLY, exchange, request
from .conftest import serve_chat

IDLE = "idle and slow clients"
ROOT = Path(__file__).resolve().parents[4]

SERVER = """
import os, resource, sys
resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 1024))
from examples.chat.app import create_app
app = create_app(environ={"HTTP_PORT": "0", "LOG_LEVEL": "INFO", "CHAT_ARGON2_MEMORY": "1024",
                          "DATABASE_URL": os.environ["DATABASE_URL"],
                          "CHAT_ARGON2_TIME": "1"}, env_file=None)
app.run()
"""


async def test_slow_headers_and_bodies_are_cut_and_silence_is_closed(chat_database: str) -> None:
    cases = [
        ("silent", b"", 0.0),
        (
            "headers dribbled",
            request("/api/chat/rooms", b"{}", "Content-Type: application/json", "X-Pad: " + "p" * 300),
            0.4,
        ),
        ("half a request", b"POST /api/chat/rooms HTTP/1.1\r\nHost: x\r\n", 0.0),
        (
            "body never sent",
            b"POST /api/chat/rooms HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100\r\n\r\n{",
            0.0,
        ),
    ]
    quick = {"HTTP_IDLE_TIMEOUT": "1", "HTTP_HEADER_TIMEOUT": "1", "HTTP_BODY_TIMEOUT": "1"}
    async with serve_chat(chat_database, **quick) as chat:
        results = await asyncio.gather(
            *(exchange(chat.host, chat.port, raw, wait=15, pause=pause) for _, raw, pause in cases)
        )
    for (name, _, _), answer in zip(cases, results, strict=True):
        TALLY.record(IDLE, "chat", answer.answer)
        assert answer.answer in ("4xx", "closed"), (name, answer.raw[:200])
        if name != "silent":
            assert answer.statuses == [408], (name, answer.raw[:200])


@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_NOFILE and 1,100 sockets: Linux only")
async def test_1100_idle_sockets_against_1024_file_handles_leave_the_server_answering(
    tmp_path: Path, chat_database: str
) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 1400:
        pytest.skip(f"this process may open only {hard} files; the attack needs 1,400")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 1400) if hard == resource.RLIM_INFINITY else hard, hard))
    log = tmp_path / "server.log"
    with log.open("wb") as log_file:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            SERVER,
            cwd=ROOT,
            stdout=asyncio.subprocess.PIPE,
            stderr=log_file,
            env={**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": chat_database},
        )
        idle: list[asyncio.StreamWriter] = []
        try:
            assert process.stdout is not None
            async with asyncio.timeout(60):
                line = (await process.stdout.readline()).decode()
            port = int(line.split("http://127.0.0.1:")[1].split("/")[0])

            async def connect() -> None:
                with contextlib.suppress(OSError, TimeoutError):
                    _, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 3)
                    idle.append(writer)

            for _ in range(0, 1150, 50):  # established connections that never send a byte
                await asyncio.gather(*(connect() for _ in range(50)))
            await asyncio.sleep(1)
            started = time.monotonic()
            answer = await exchange(
                "127.0.0.1", port, request("/api/chat/rooms", b"{}", "Content-Type: application/json"), wait=30
            )
            took = time.monotonic() - started
        finally:
            for writer in idle:
                writer.close()
            process.terminate()
            async with asyncio.timeout(30):
                await process.wait()
    assert len(idle) > 1024, f"only {len(idle)} connections were established"
    TALLY.record(IDLE, "chat (1,024 handles)", answer.answer)
    assert answer.statuses == [401], answer.raw[:300]  # answered (an anonymous call): the server took it
    assert took < 30
    size = log.stat().st_size
    assert size < 1_000_000, f"log grew to {size} bytes"
    assert b"Traceback" not in log.read_bytes()
