"""Deadlines across processes: ``x-timeout-ms`` read into ``ctx.deadline`` and enforced by the pipeline."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from betrue.server import Application, Context, Group
from betrue.server.deadlines import deadline_from_meta, timeout_header
from betrue.server.testing import TestApp


def sleepy_app(seen: list[float | None], cancelled: asyncio.Event) -> Application:
    group = Group("sleepy")

    @group.command("nap")
    async def nap(params: dict[str, Any], ctx: Context) -> str:
        seen.append(ctx.deadline)
        try:
            await asyncio.sleep(params.get("seconds", 0))
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return "rested"

    return Application("sleepy", groups=[group], env_file=None)


def test_the_header_is_the_time_left_in_whole_milliseconds() -> None:
    assert timeout_header(time.time() + 2.0) in {"1999", "2000"}
    assert timeout_header(time.time() - 5) == "0"
    deadline = deadline_from_meta({"x-timeout-ms": "1500"})
    assert deadline is not None
    assert 1.4 < deadline - time.time() <= 1.5
    assert deadline_from_meta({}) is None
    assert deadline_from_meta({"x-timeout-ms": "soon"}) is None
    assert deadline_from_meta({"x-timeout-ms": "nan"}) is None
    negative = deadline_from_meta({"x-timeout-ms": "-20"})
    assert negative is not None
    assert negative <= time.time()


async def test_a_call_gets_the_deadline_its_caller_sent() -> None:
    seen: list[float | None] = []
    async with TestApp(sleepy_app(seen, asyncio.Event())) as app:
        assert (await app.call("sleepy/nap", {}, meta={"x-timeout-ms": "3000"}))["result"] == "rested"
        assert (await app.call("sleepy/nap", {}))["result"] == "rested"
    assert seen[0] is not None
    assert 2.5 < seen[0] - time.time() <= 3
    assert seen[1] is None


async def test_a_call_running_past_its_deadline_is_cancelled_with_504() -> None:
    seen: list[float | None] = []
    cancelled = asyncio.Event()
    async with TestApp(sleepy_app(seen, cancelled)) as app:
        started = time.monotonic()
        envelope = await app.call("sleepy/nap", {"seconds": 10}, meta={"x-timeout-ms": "100"})
    assert envelope["code"] == 504
    assert envelope["error"]["details"] == {"reason": "deadline"}
    assert cancelled.is_set()
    assert time.monotonic() - started < 2


async def test_a_call_whose_deadline_passed_never_runs() -> None:
    seen: list[float | None] = []
    async with TestApp(sleepy_app(seen, asyncio.Event())) as app:
        envelope = await app.call("sleepy/nap", {}, meta={"x-timeout-ms": "0"})
    assert envelope["status"] == "GatewayTimeout"
    assert seen == []


async def test_a_timeout_error_of_the_handler_itself_is_not_mistaken_for_the_deadline() -> None:
    group = Group("own")

    @group.command("timeout")
    async def own_timeout(params: dict[str, Any], ctx: Context) -> None:
        async with asyncio.timeout(0.01):
            await asyncio.sleep(1)

    async with TestApp(Application("own", groups=[group], env_file=None)) as app:
        envelope = await app.call("own/timeout", {}, meta={"x-timeout-ms": "5000"})
    assert envelope["status"] == "InternalError"
