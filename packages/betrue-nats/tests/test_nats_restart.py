"""The NATS server restarted under load: the app reconnects by itself, calls in the gap fail fast, no ghosts."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import nats
import pytest

from betrue.nats import EmbeddedNats, NatsConnection, NatsTransport
from betrue.nats.headers import request_headers
from betrue.server import Application, BadGateway, BetrueError, Context, Group, ServiceUnavailable

AppFactory = Callable[..., Awaitable[Application]]


def recording_group(started: dict[int, float]) -> Group:
    group = Group("svc")

    @group.command("work")
    async def work(params: dict[str, Any], ctx: Context) -> Any:
        started[int(params["n"])] = time.time()
        await asyncio.sleep(0.005)
        return {"n": params["n"]}

    return group


async def wait_until(check: Callable[[], bool], timeout: float) -> bool:
    limit = time.monotonic() + timeout
    while time.monotonic() < limit:
        if check():
            return True
        await asyncio.sleep(0.05)
    return check()


async def test_restart_during_load_reconnects_fails_fast_and_runs_no_call_past_its_deadline(
    make_app: AppFactory, own_nats: EmbeddedNats, prefix: str
) -> None:
    started: dict[int, float] = {}
    deadlines: dict[int, float] = {}
    answers: list[tuple[int, float]] = []  # (code, seconds the call took)
    app = await make_app("svc", url=own_nats.url, groups=[recording_group(started)], events=False)
    connection: NatsConnection = app.service("nats")
    transport = NatsTransport(f"{own_nats.url}/svc?prefix={prefix}")
    counter = iter(range(1_000_000))
    stop_at = time.monotonic() + 4.0

    async def worker() -> None:
        while time.monotonic() < stop_at:
            n = next(counter)
            deadlines[n] = time.time() + 0.5
            began = time.monotonic()
            try:
                code = (await transport.call("svc/work", {"n": n}, {}, deadlines[n]))["code"]
            except BetrueError as error:
                code = error.code
            answers.append((code, time.monotonic() - began))
            if code != 200:
                await asyncio.sleep(0.02)

    async def restart() -> None:
        await asyncio.sleep(1.0)
        own_nats.kill()
        await asyncio.sleep(1.0)
        await own_nats.start()

    try:
        await asyncio.wait_for(asyncio.gather(restart(), *(worker() for _ in range(20))), timeout=60)
        assert await wait_until(lambda: connection.connected, 15), "the app reconnected by itself"
        assert connection.readiness().ready
        assert connection.reconnects >= 1
        after = await transport.call("svc/work", {"n": next(counter)}, {}, time.time() + 5)
        assert after["code"] == 200
    finally:
        await transport.close()
    await asyncio.sleep(0.5)  # anything nats-py still held is delivered by now
    codes = Counter(code for code, _ in answers)
    assert codes[200] > 0, codes
    assert codes[503] > 0, f"calls in the gap were refused: {codes}"
    assert set(codes) <= {200, 502, 503, 504}, codes
    refused = [took for code, took in answers if code == 503]
    # At once, not at the 0.5 s deadline (the median: a loaded machine may delay a few answers).
    assert statistics.median(refused) < 0.1, "a call while disconnected fails at once"
    # A ghost is a call run after its caller gave up: the ones nats-py would send after reconnecting come
    # seconds late. 50 ms of slack: a call admitted just before its deadline on a loaded machine may reach
    # its handler's first line a few milliseconds later.
    ghosts = [n for n, at in started.items() if n in deadlines and at > deadlines[n] + 0.05]
    assert ghosts == [], f"{len(ghosts)} calls ran after their caller's deadline"


async def test_readiness_follows_the_connection(own_nats: EmbeddedNats, make_app: AppFactory) -> None:
    app = await make_app("svc", url=own_nats.url, events=False)
    connection: NatsConnection = app.service("nats")
    assert connection.readiness().ready
    own_nats.kill()
    assert await wait_until(lambda: not connection.readiness().ready, 10)
    assert connection.readiness().detail in {"reconnecting", "disconnected"}
    await own_nats.start()
    assert await wait_until(lambda: connection.readiness().ready, 15)


async def test_a_call_in_flight_when_the_connection_drops_gets_502_at_once(
    make_app: AppFactory, own_nats: EmbeddedNats, prefix: str
) -> None:
    await make_app("svc", url=own_nats.url, groups=[slow_group()], events=False)
    transport = NatsTransport(f"{own_nats.url}/svc?prefix={prefix}")
    try:
        await transport.call("svc/slow", {"seconds": 0}, {}, time.time() + 5)
        call = asyncio.create_task(transport.call("svc/slow", {"seconds": 3}, {}, time.time() + 20))
        await asyncio.sleep(0.3)
        began = time.monotonic()
        own_nats.kill()
        with pytest.raises(BadGateway) as raised:
            await asyncio.wait_for(call, 10)
        assert time.monotonic() - began < 5, "not left waiting for its deadline"
        assert raised.value.details["reason"] == "broken"
        with pytest.raises(ServiceUnavailable) as refused:
            await transport.call("svc/slow", {"seconds": 0}, {}, time.time() + 5)
        assert refused.value.details["reason"] == "disconnected"
    finally:
        await transport.close()


def slow_group() -> Group:
    group = Group("svc")

    @group.command("slow")
    async def slow(params: dict[str, Any], ctx: Context) -> Any:
        await asyncio.sleep(float(params["seconds"]))
        return {}

    return group


async def test_a_call_nats_py_kept_while_disconnected_is_not_run_when_it_arrives_late(
    make_app: AppFactory, own_nats: EmbeddedNats, prefix: str
) -> None:
    """The trap itself: nats-py keeps what is published while reconnecting and sends it after, seconds late."""
    started: dict[int, float] = {}
    fast = {"NATS_RECONNECT_WAIT": "0.05", "NATS_RECONNECT_WAIT_MAX": "0.1"}
    app = await make_app("svc", url=own_nats.url, groups=[recording_group(started)], events=False, environ=fast)
    adapter = app.service("nats-adapter")
    # A plain nats-py caller that reconnects later than the app, so the app is subscribed again when it flushes.
    caller = await nats.connect(own_nats.url, reconnect_time_wait=1.0, max_reconnect_attempts=-1)
    try:
        own_nats.kill()
        await wait_until(lambda: caller.is_reconnecting, 5)
        deadline = time.time() + 0.3
        headers = request_headers({"x-trace-id": "ghost"}, deadline)
        await caller.publish(f"{prefix}.cmd.svc.svc.work", b'{"n": 1}', reply=caller.new_inbox(), headers=headers)
        await asyncio.sleep(0.5)  # the caller has given up by now
        await own_nats.start()
        assert await wait_until(lambda: adapter.stats.expired == 1, 15), "the kept call arrived after its deadline"
    finally:
        await caller.close()
    assert started == {}, "and was not run"
