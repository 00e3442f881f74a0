"""Work that must happen goes through jobs: each upload's ``chat/measure`` runs on the cluster's worker, and a
worker SIGKILLed mid-job loses none (the job is taken again when its lease runs out)."""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import struct
import sys
import zlib
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import asyncpg

from examples.chat.shapes import environment, running

ROOT = Path(__file__).resolve().parents[3]
NATS_URL = os.environ.get("BETRUE_TEST_NATS_URL", "nats://127.0.0.1:4222")
PASSWORD = "correct horse battery"


def _png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\x10\x20\x30" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


async def _worker(environ: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "betrue.server.cli", "worker", "examples.chat.cluster:worker"),
        cwd=ROOT,
        env={**os.environ, **environ, "LOG_PRETTY": "false"},
    )


async def _running(database: str) -> int:
    connection = await asyncpg.connect(database)
    try:
        return int(await connection.fetchval("SELECT count(*) FROM betrue.betrue_jobs WHERE state = 'running'"))
    finally:
        await connection.close()


async def _until(check: Callable[[], Awaitable[int]]) -> None:
    """Poll ``check`` until it answers non-zero (the caller bounds the wait)."""
    for _ in itertools.count():
        if await check():
            return
        await asyncio.sleep(0.1)


async def _measured(database: str) -> dict[str, tuple[int, int]]:
    connection = await asyncpg.connect(database)
    try:
        rows = await connection.fetch("SELECT id, width, height FROM chat_attachments WHERE width IS NOT NULL")
    finally:
        await connection.close()
    return {row["id"]: (row["width"], row["height"]) for row in rows}


async def test_uploads_are_measured_by_the_worker_and_a_killed_worker_loses_no_job(chat_database: str) -> None:
    # the users register from 127.0.0.1: the per-address limits (tested in test_chat_hardening.py) are lifted
    generous = {"CHAT_LOGIN_BURST": "1000", "CHAT_ADDRESS_BURST": "1000", "CHAT_SIGNUPS_PER_HOUR": "1000"}
    environ = environment(chat_database, NATS_URL, JOBS_LEASE="2", CHAT_MEASURE_DELAY="1", JOBS_POLL="0.2", **generous)
    environ["JOBS_WORKERS"] = "1"  # the worker's: one job at a time (gateways and chat instances run none)
    async with running("cluster", environ, services=1) as shape:
        worker = await _worker(environ)
        try:
            sizes: dict[str, tuple[int, int]] = {}
            async with aiohttp.ClientSession() as http:
                credentials = {"name": "ann", "password": PASSWORD}
                async with http.post(shape.urls[0] + "/api/user/register", json=credentials) as reply:
                    headers = {"Authorization": f"Bearer {(await reply.json())['result']['token']}"}
                for number in range(1, 5):
                    form = aiohttp.FormData()
                    form.add_field("file", _png(number * 3, number), filename=f"{number}.png", content_type="image/png")
                    async with http.post(shape.urls[number % 2] + "/api/chat/upload", data=form, headers=headers) as r:
                        assert r.status == 200, await r.text()
                        sizes[(await r.json())["result"]["id"]] = (number * 3, number)
            async with asyncio.timeout(30):
                await _until(lambda: _running(chat_database))  # the worker holds a job (each takes a second)
            worker.send_signal(signal.SIGKILL)  # mid-job
            await worker.wait()
            done_before = await _measured(chat_database)
            assert len(done_before) < len(sizes), "the worker finished everything before it was killed"
            worker = await _worker(environ)  # a new worker takes the rest, the interrupted job included
            async with asyncio.timeout(60):
                while (measured := await _measured(chat_database)) != sizes:
                    assert set(measured) <= set(sizes)
                    await asyncio.sleep(0.3)
            async with aiohttp.ClientSession() as http:
                some = next(iter(sizes))
                async with http.post(shape.urls[1] + "/api/chat/measure", json={"id": some}, headers=headers) as r:
                    assert r.status == 403  # a job's command, not the users'
        finally:
            if worker.returncode is None:
                worker.send_signal(signal.SIGTERM)
                await worker.wait()
