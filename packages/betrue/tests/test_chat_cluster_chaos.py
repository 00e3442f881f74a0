"""Chaos in the chat cluster: 20 users send 200 messages while a chat instance is SIGKILLed and restarted
(and, marked slow, 40 users 1000 messages with three kills).

Every message acknowledged to its sender is in the history exactly once, and every connected user
received it. The senders retry what got no answer with the same idempotency key (``chat/send``'s
``key``), which is what makes "exactly once" hold when an instance dies after storing but before
answering.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from betrue.server import Application, BetrueError
from betrue.ws import WsClient
from examples.chat.cluster import create_gateway
from examples.chat.shapes import environment
from examples.gateway.run import free_ports

ROOT = Path(__file__).resolve().parents[3]
NATS_URL = os.environ.get("BETRUE_TEST_NATS_URL", "nats://127.0.0.1:4222")
PASSWORD = "correct horse battery"
SEND_DEADLINE = 60.0


class Instances:
    """Chat instances as real processes (``betrue run examples.chat.cluster:service``), on known ports."""

    def __init__(self, environ: dict[str, str]) -> None:
        self.environ = environ
        self.processes: dict[int, asyncio.subprocess.Process] = {}

    async def start(self, port: int) -> None:
        self.processes[port] = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "betrue.server.cli",
            "run",
            "examples.chat.cluster:service",
            cwd=ROOT,
            env={**os.environ, **self.environ, "HTTP_PORT": str(port), "LOG_PRETTY": "false"},
        )
        async with aiohttp.ClientSession() as http, asyncio.timeout(60):
            while True:
                try:
                    async with http.post(f"http://127.0.0.1:{port}/api/_app/health", json={}) as reply:
                        if reply.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                assert self.processes[port].returncode is None, "a chat instance exited at start"
                await asyncio.sleep(0.2)

    def kill(self, port: int) -> None:
        self.processes[port].send_signal(signal.SIGKILL)

    async def stop(self) -> None:
        for process in self.processes.values():
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            try:
                async with asyncio.timeout(20):
                    await process.wait()
            except TimeoutError:
                process.kill()


@pytest.fixture
async def cluster(chat_database: str) -> AsyncIterator[tuple[Instances, list[int], list[Application]]]:
    # 20 users register from 127.0.0.1: the per-address limits (tested in test_chat_hardening.py) are lifted
    environ = environment(
        chat_database,
        NATS_URL,
        CLIENT_TIMEOUT="3",
        CLIENT_BREAKER_FAILURES="100000",
        CHAT_LOGIN_BURST="1000",
        CHAT_ADDRESS_BURST="1000",
        CHAT_SIGNUPS_PER_HOUR="1000",
    )
    instances = Instances(environ)
    ports = free_ports(2)
    gateways: list[Application] = []
    try:
        await asyncio.gather(*(instances.start(port) for port in ports))
        for _ in range(2):
            gateway = create_gateway(environ, env_file=None)
            await gateway.start()
            gateways.append(gateway)
        yield instances, ports, gateways
    finally:
        for gateway in gateways:
            await gateway.stop()
        await instances.stop()


async def _send(client: WsClient, text: str) -> dict[str, Any]:
    """Send until acknowledged, again with the same key after any failure (the answer may have been lost)."""
    params = {"room": "general", "text": text, "key": secrets.token_hex(8)}
    async with asyncio.timeout(SEND_DEADLINE):
        while True:
            try:
                answer: dict[str, Any] = await client.call("chat/send", params, timeout=5)
                return answer
            except BetrueError:  # 502/503/504 while an instance dies: try again
                await asyncio.sleep(0.2)


async def _history(client: WsClient) -> list[dict[str, Any]]:
    """Every message of general, oldest first, a page of 200 at a time."""
    messages: list[dict[str, Any]] = []
    before: dict[str, Any] = {}
    while True:
        page = (await client.call("chat/history", {"room": "general", "limit": 200, **before}))["messages"]
        messages[:0] = page
        if len(page) < 200:
            return messages
        before = {"before": page[0]["id"]}


@pytest.mark.parametrize(
    ("senders", "each", "kills"),
    [
        pytest.param(20, 10, 1, id="200-messages-1-kill"),
        pytest.param(40, 25, 3, id="1000-messages-3-kills", marks=pytest.mark.slow),
    ],
)
async def test_messages_while_a_chat_instance_is_killed_and_restarted(
    cluster: tuple[Instances, list[int], list[Application]], senders: int, each: int, kills: int
) -> None:
    instances, ports, gateways = cluster
    total = senders * each
    urls = [gateway.service("http").url + "/ws" for gateway in gateways]
    users = [WsClient(urls[number % 2], timeout=10) for number in range(senders)]
    for number, client in enumerate(users):
        await client.connect()
        await client.call("user/register", {"name": f"user{number}", "password": PASSWORD})
        await client.call("chat/join", {"room": "general"})
    acknowledged: list[dict[str, Any]] = []
    moments = [asyncio.Event() for _ in range(kills)]  # after 30%, then evenly up to 80% of the messages
    thresholds = [int(total * (0.3 + 0.5 * kill / max(kills, 1))) for kill in range(kills)]

    async def talk(number: int, client: WsClient) -> None:
        for message in range(each):
            acknowledged.append(await _send(client, f"user{number} message {message}"))
            for moment, threshold in zip(moments, thresholds, strict=True):
                if len(acknowledged) >= threshold:
                    moment.set()

    async def chaos() -> None:
        for kill, moment in enumerate(moments):
            await moment.wait()
            port = ports[kill % 2]
            instances.kill(port)  # mid-conversation, without a word
            await asyncio.sleep(1)
            await instances.start(port)

    try:
        await asyncio.gather(chaos(), *(talk(number, client) for number, client in enumerate(users)))
        assert all(process.returncode is None for process in instances.processes.values())  # restarted, serving
        ids = {message["id"] for message in acknowledged}
        assert len(acknowledged) == len(ids) == total
        history = await _history(users[0])
        stored = [(message["user"], message["text"]) for message in history]
        assert sorted(stored) == sorted((message["user"], message["text"]) for message in acknowledged)
        assert {message["id"] for message in history} == ids  # each once: no second copy of a retried send
        for client in users:  # every connected user received every acknowledged message
            seen: set[int] = set()
            async with asyncio.timeout(30):
                while not ids <= seen:
                    seen.add((await client.next_event("chat.message"))["data"]["id"])
    finally:
        for client in users:
            await client.close()
