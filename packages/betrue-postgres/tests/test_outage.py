"""The database going away under load, on a PostgreSQL of the test's own (never the shared one)."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from betrue.postgres import Database
from betrue.postgres.scratch import ScratchServer
from betrue.server import Application, Context, Group
from betrue.server.testing import TestApp


@pytest.fixture
def scratch() -> Iterator[ScratchServer]:
    try:
        server = ScratchServer()
    except FileNotFoundError as error:
        pytest.skip(f"cannot start a PostgreSQL of this test's own: {error}")
    try:
        server.start()
        yield server
    finally:
        server.remove()


def counter_app(dsn: str) -> Application:
    counter = Group("counter")

    @counter.command("read")
    async def read(params: dict[str, Any], ctx: Context) -> int:
        db: Database = await ctx.service("db")
        value: int = await db.fetchval("SELECT 1")
        return value

    environ = {"DATABASE_URL": dsn, "DB_ACQUIRE_TIMEOUT": "2", "DB_POOL_MAX": "4", "LOG_LEVEL": "ERROR"}
    app = Application("counter", groups=[counter], env_file=None, environ=environ)
    app.add_service(Database)
    return app


async def test_calls_in_the_gap_get_503_and_the_pool_recovers_by_itself(scratch: ScratchServer) -> None:
    outcomes: list[tuple[float, int]] = []
    stop = asyncio.Event()

    async with TestApp(counter_app(scratch.dsn)) as app:

        async def load() -> None:
            while not stop.is_set():
                envelope = await app.call("counter/read")
                outcomes.append((time.monotonic(), envelope["code"]))
                await asyncio.sleep(0.01)

        workers = [asyncio.create_task(load()) for _ in range(4)]
        await asyncio.sleep(0.5)
        await asyncio.to_thread(scratch.stop, "immediate")
        went_down = time.monotonic()
        await asyncio.sleep(1.0)
        assert app.service("db").readiness().ready is False
        await asyncio.to_thread(scratch.start)
        came_back = time.monotonic()
        await asyncio.sleep(1.5)
        stop.set()
        await asyncio.wait_for(asyncio.gather(*workers), timeout=30)
        assert app.service("db").readiness().ready is True

    codes = Counter(code for _, code in outcomes)
    assert set(codes) <= {200, 503}, codes  # nothing but success or "unavailable": no 500, no hang
    assert any(code == 503 for at, code in outcomes if went_down < at < came_back)
    assert any(code == 200 for at, code in outcomes if at < went_down)
    last = [code for at, code in outcomes if at > came_back + 0.5]
    assert last
    assert all(code == 200 for code in last), Counter(last)  # recovered with no restart of the app
