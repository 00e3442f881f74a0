"""Deadlines across processes: ``x-timeout-ms`` read into ``ctx.deadline`` and enforced by the pipeline."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from betrue.server import Application, Context, GatewayTimeout, Group, ValidationError
from betrue.server.deadlines import Deadlines, deadline_from_meta, timeout_header
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
    assert timeout_header(time.time() - 5) == "1"  # never 0: a caller past its deadline does not send
    deadline = deadline_from_meta({"x-timeout-ms": "1500"})
    assert deadline is not None
    assert 1.4 < deadline - time.time() <= 1.5
    assert deadline_from_meta({}) is None


@pytest.mark.parametrize("value", ["0", "-20", "-0", "soon", "nan", "inf", ""])
def test_a_timeout_header_that_is_not_a_positive_number_is_a_400(value: str) -> None:
    with pytest.raises(ValidationError) as raised:
        deadline_from_meta({"x-timeout-ms": value})
    assert raised.value.details == {"reason": "bad_timeout", "header": "x-timeout-ms"}


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


async def test_a_call_asking_for_no_time_is_a_400_and_never_runs() -> None:
    seen: list[float | None] = []
    async with TestApp(sleepy_app(seen, asyncio.Event())) as app:
        for value in ("0", "-5"):
            envelope = await app.call("sleepy/nap", {}, meta={"x-timeout-ms": value})
            assert envelope["code"] == 400
            assert envelope["error"]["details"]["reason"] == "bad_timeout"
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


async def test_a_shorter_deadline_inside_a_call_ends_only_the_inner_call() -> None:
    group = Group("nest")
    outcome: list[str] = []

    @group.command("outer")
    async def outer(params: dict[str, Any], ctx: Context) -> str:
        try:
            await ctx.client.call("nest/inner", {}, timeout=0.1)  # local: the same task, a nested deadline
        except GatewayTimeout:
            outcome.append("inner timed out")
        await asyncio.sleep(0)  # the outer call goes on, uncancelled
        return "outer done"

    @group.command("inner")
    async def inner(params: dict[str, Any], ctx: Context) -> None:
        await asyncio.sleep(10)

    async with TestApp(Application("nest", groups=[group], env_file=None)) as app:
        envelope = await app.call("nest/outer", {}, meta={"x-timeout-ms": "5000"})
        assert Deadlines.current()._calls == {}  # nothing left watched
    assert envelope["result"] == "outer done"
    assert outcome == ["inner timed out"]


async def test_a_cancellation_that_is_not_the_deadline_stays_a_cancellation() -> None:
    started = asyncio.Event()
    group = Group("slow")

    @group.command("wait")
    async def wait(params: dict[str, Any], ctx: Context) -> None:
        started.set()
        await asyncio.sleep(10)

    async with TestApp(Application("slow", groups=[group], env_file=None)) as app:
        call = asyncio.create_task(app.call("slow/wait", {}, meta={"x-timeout-ms": "5000"}))
        await started.wait()
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        assert Deadlines.current()._calls == {}


async def test_many_calls_share_one_timer() -> None:
    seen: list[float | None] = []
    cancelled = asyncio.Event()
    async with TestApp(sleepy_app(seen, cancelled)) as app:
        loop = asyncio.get_running_loop()
        before = len(loop._scheduled)  # type: ignore[attr-defined]
        calls = [asyncio.create_task(app.call("sleepy/nap", {"seconds": 0.2}, meta={"x-timeout-ms": "5000"}))]
        calls += [
            asyncio.create_task(app.call("sleepy/nap", {"seconds": 0.2}, meta={"x-timeout-ms": "5000"}))
            for _ in range(99)
        ]
        await asyncio.sleep(0)  # one turn of the loop: every call runs to its handler's sleep
        assert len(seen) == 100
        during = len(loop._scheduled) - before  # type: ignore[attr-defined]
        answers = await asyncio.gather(*calls)
    assert all(answer["result"] == "rested" for answer in answers)
    assert during <= 101  # the handlers' own sleeps, and one deadline timer for all hundred calls
