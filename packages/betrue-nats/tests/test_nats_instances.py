"""Two instances of one service behind NATS: the queue group spreads calls; one killed loses only its own."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from betrue.nats import NatsTransport
from betrue.server import BetrueError

INSTANCE = Path(__file__).with_name("nats_instance.py")


def start_instance(url: str, prefix: str) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, str(INSTANCE), url, prefix], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    assert process.stdout is not None
    line = process.stdout.readline()  # bounded: the instance prints "ready" or exits (EOF)
    if line.strip() != "ready":
        process.kill()
        process.stdout.close()
        pytest.fail(f"service instance did not start (exit code {process.wait(5)})")
    return process


@pytest.fixture
def instances(shared_nats: str, prefix: str) -> Iterator[list[subprocess.Popen[str]]]:
    started = [start_instance(shared_nats, prefix) for _ in range(2)]
    try:
        yield started
    finally:
        for process in started:
            if process.poll() is None:
                process.kill()
            process.wait(10)
            if process.stdout is not None:
                process.stdout.close()


async def load(
    transport: NatsTransport, calls: int, *, in_flight: int, deadline: float, kill: tuple[int, subprocess.Popen[str]]
) -> list[tuple[float, int, int | None]]:
    """``calls`` calls of svc/sleep, ``in_flight`` at a time; SIGKILL ``kill[1]`` once ``kill[0]`` have answered.

    Answers (finished at, code, pid) per call.
    """
    answers: list[tuple[float, int, int | None]] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(calls):
        queue.put_nowait(n)

    async def worker() -> None:
        while not queue.empty():
            n = queue.get_nowait()
            try:
                envelope = await transport.call("svc/sleep", {"n": n, "seconds": 0.01}, {}, time.time() + deadline)
                code, pid = envelope["code"], envelope.get("result", {}).get("pid")
            except BetrueError as error:
                code, pid = error.code, None
            answers.append((time.monotonic(), code, pid))
            if len(answers) == kill[0]:
                kill[1].kill()

    await asyncio.wait_for(asyncio.gather(*(worker() for _ in range(in_flight))), timeout=60)
    return answers


async def test_calls_spread_and_a_killed_instance_loses_only_its_calls_in_flight(
    shared_nats: str, prefix: str, instances: list[subprocess.Popen[str]]
) -> None:
    transport = NatsTransport(f"{shared_nats}/svc?prefix={prefix}")
    victim, survivor = instances
    try:
        killed_at = 300
        answers = await load(transport, 1000, in_flight=50, deadline=2.0, kill=(killed_at, victim))
    finally:
        await transport.close()
    assert len(answers) == 1000  # every call answered, none hangs (the gather above is bounded too)
    codes = Counter(code for _, code, _ in answers)
    assert set(codes) <= {200, 503, 504}, codes
    assert codes[200] >= 1000 - 50, codes  # at most the calls in flight on the dead instance fail
    before = Counter(pid for _, code, pid in answers[:killed_at] if code == 200)
    assert set(before) == {victim.pid, survivor.pid}, "the queue group spreads calls over both instances"
    after = {pid for _, code, pid in answers[killed_at + 50 :] if code == 200}
    assert after == {survivor.pid}, "once one is dead the rest go to the survivor"


@pytest.mark.slow
async def test_ten_thousand_calls_with_a_kill(
    shared_nats: str, prefix: str, instances: list[subprocess.Popen[str]]
) -> None:
    transport = NatsTransport(f"{shared_nats}/svc?prefix={prefix}")
    try:
        answers = await load(transport, 10_000, in_flight=100, deadline=2.0, kill=(3000, instances[0]))
    finally:
        await transport.close()
    codes = Counter(code for _, code, _ in answers)
    assert len(answers) == 10_000
    assert codes[200] >= 10_000 - 100, codes
