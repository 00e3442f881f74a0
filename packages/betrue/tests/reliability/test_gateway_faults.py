"""The gateway example with a FaultProxy in front of each upstream: latency, black holes, resets, refusals,
dropped connections and a thin pipe. The gateway answers every call in time: 200, or a 502/503/504
envelope while the fault lasts; it serves again once the fault is gone; and a message it answered 200
for is in the chat's history (nothing acknowledged is lost)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import pytest

from .attack import TALLY
from .conftest import GatewayStack

FAMILY = "upstream faults (gateway)"
UPSTREAM_ERRORS = {502, 503, 504}


def classify(status: int, faulty: bool) -> str:
    if status < 300:
        return "2xx"
    if status < 500:
        return "4xx"
    return "unavailable" if faulty and status in UPSTREAM_ERRORS else "5xx"


async def call(session: aiohttp.ClientSession, url: str, code: str, params: dict[str, Any]) -> tuple[int, Any]:
    async with session.post(f"{url}/api/{code}", json=params, timeout=aiohttp.ClientTimeout(total=15)) as reply:
        return reply.status, await reply.json()


async def scenario(stack: GatewayStack, fault: str, calls: int, posted: list[str]) -> list[int]:
    proxy = stack.chat_proxy
    proxy.clear()
    faulty = fault != "none"
    if fault == "latency":
        proxy.latency, proxy.jitter = 0.05, 0.05
    elif fault == "blackhole":
        proxy.blackhole = True
    elif fault == "reset":
        proxy.reset_all()
        proxy.refuse = True
    elif fault == "drop":
        proxy.drop = 0.5
    elif fault == "bandwidth":
        proxy.bandwidth = 20_000
    statuses = []
    url = stack.gateway.url
    async with aiohttp.ClientSession() as session:
        for n in range(calls):
            text = f"{fault}-{n}"
            started = time.monotonic()
            status, body = await call(session, url, "chat/post", {"room": "faults", "text": text})
            assert time.monotonic() - started < 10, (fault, "an answer took too long")
            TALLY.record(FAMILY, "gateway", classify(status, faulty))
            assert status == 200 or (faulty and status in UPSTREAM_ERRORS), (fault, status, body)
            if status == 200:
                posted.append(text)
            status, body = await call(session, url, "game/load", {"player": f"p{n}"})
            TALLY.record(FAMILY, "gateway", classify(status, faulty))
            assert status == 200 or (faulty and status in UPSTREAM_ERRORS), (fault, status, body)
            statuses.append(status)
    proxy.clear()
    return statuses


async def recovered(stack: GatewayStack) -> None:
    """After the fault: the gateway serves again within its breaker's reset time."""
    async with aiohttp.ClientSession() as session, asyncio.timeout(30):
        while (await call(session, stack.gateway.url, "chat/history", {"room": "faults"}))[0] != 200:  # noqa: ASYNC110
            await asyncio.sleep(0.25)


async def lost(stack: GatewayStack, posted: list[str]) -> int:
    """Messages answered 200 that the chat does not have (read from the chat itself, not through a proxy)."""
    chat_url = f"http://127.0.0.1:{stack.chat_proxy.upstream[1]}"
    async with aiohttp.ClientSession() as session:
        _, body = await call(session, chat_url, "chat/history", {"room": "faults"})
    kept = {message["text"] for message in body["result"]}
    return len([text for text in posted if text not in kept])


@pytest.mark.parametrize("fault", ["none", "latency", "blackhole", "reset", "drop", "bandwidth"])
async def test_the_gateway_answers_in_time_through_each_fault_and_loses_nothing(
    gateway: GatewayStack, fault: str
) -> None:
    posted: list[str] = []
    statuses = await scenario(gateway, fault, 1 if fault == "blackhole" else 2, posted)
    if fault in ("none", "latency", "bandwidth"):
        assert set(statuses) == {200}, (fault, statuses)
    if fault in ("blackhole", "reset"):
        assert 200 not in statuses, (fault, statuses)
    await recovered(gateway)
    missing = await lost(gateway, posted)
    TALLY.lost(FAMILY, "gateway", missing)
    assert missing == 0


@pytest.mark.slow
async def test_faults_one_after_the_other_many_times(gateway: GatewayStack) -> None:
    posted: list[str] = []
    for _ in range(3):
        for fault in ("latency", "drop", "blackhole", "reset", "bandwidth", "none"):
            await scenario(gateway, fault, 5, posted)
            await recovered(gateway)
    missing = await lost(gateway, posted)
    TALLY.lost(FAMILY, "gateway", missing)
    assert missing == 0
