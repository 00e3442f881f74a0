"""The cluster as ``make run-cluster`` starts it (five processes), used from headless Chromium.

Two users on the two gateways talk and see each other; ann's gateway is killed (SIGKILL); her page moves
to the other gateway of its list, logs in with its token, rejoins, and sends what she typed meanwhile,
in order, once each. Screenshots under test-artifacts/chat-cluster/.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import secrets
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[3]
ARTIFACTS = ROOT / "test-artifacts" / "chat-cluster"
NATS_URL = os.environ.get("BETRUE_TEST_NATS_URL", "nats://127.0.0.1:4222")
START_TIMEOUT = 90.0


class Cluster:
    """``examples/chat/run_cluster.py --free-ports`` running: its gateways' URLs and processes' ids."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.urls: list[str] = []
        self.pids: dict[str, int] = {}

    async def wait_ready(self) -> None:
        assert self.process.stdout is not None
        async with asyncio.timeout(START_TIMEOUT):
            while not self.urls:
                line = (await self.process.stdout.readline()).decode()
                if not line:
                    raise RuntimeError(f"run_cluster.py exited ({await self.process.wait()}) before it was ready")
                if found := re.match(r"^(.+): pid (\d+)$", line.strip()):
                    self.pids[found[1]] = int(found[2])
                if line.startswith("cluster ready: "):
                    self.urls = line.removeprefix("cluster ready: ").split()
        asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        assert self.process.stdout is not None
        while await self.process.stdout.readline():
            pass


@pytest.fixture
async def cluster(chat_database: str) -> AsyncIterator[Cluster]:
    environ = {
        **os.environ,
        "DATABASE_URL": chat_database,
        "NATS_URL": NATS_URL,
        "NATS_PREFIX": f"b{secrets.token_hex(5)}",
        "LOG_LEVEL": "WARNING",
        "LOG_PRETTY": "false",
        "CHAT_ARGON2_MEMORY": "1024",
        "CHAT_ARGON2_TIME": "1",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(ROOT / "examples" / "chat" / "run_cluster.py"),
        "--free-ports",
        cwd=ROOT,
        env=environ,
        stdout=asyncio.subprocess.PIPE,
    )
    started = Cluster(process)
    try:
        await started.wait_ready()
        yield started
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGINT)
            try:
                async with asyncio.timeout(30):
                    await process.wait()
            except TimeoutError:
                for pid in started.pids.values():
                    _kill(pid)
                process.kill()


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


async def _page(browser: Any, url: str, problems: list[str]) -> Any:
    page = await (await browser.new_context()).new_page()
    page.on("pageerror", lambda error: problems.append(str(error)))
    await page.goto(url)
    return page


async def _register(page: Any, name: str) -> None:
    from playwright.async_api import expect

    await expect(page.get_by_test_id("login")).to_be_visible()
    await page.get_by_test_id("login-name").fill(name)
    await page.get_by_test_id("login-password").fill(f"{name}'s long password")
    await page.get_by_test_id("register-submit").click()
    await expect(page.get_by_test_id("me")).to_have_text(name)


async def _screenshot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")


async def test_two_users_on_two_gateways_and_a_gateway_killed_loses_nothing(browser: Any, cluster: Cluster) -> None:
    from playwright.async_api import expect

    expect.set_options(timeout=30_000)
    problems: list[str] = []
    ann = await _page(browser, cluster.urls[0] + "/", problems)
    bob = await _page(browser, cluster.urls[1] + "/", problems)
    await _register(ann, "ann")
    await _register(bob, "bob")
    for page in (ann, bob):  # presence across gateways: each sees both
        await expect(page.get_by_test_id("users").locator("li")).to_have_text(["ann", "bob"])
    await ann.get_by_test_id("text").fill("hello from gateway 1")
    await ann.get_by_test_id("text").press("Enter")
    await bob.get_by_test_id("text").fill("hello from gateway 2")
    await bob.get_by_test_id("text").press("Enter")
    for page in (ann, bob):
        await expect(page.locator(".message .text")).to_have_text(["hello from gateway 1", "hello from gateway 2"])
    await _screenshot(ann, "two-gateways-ann")
    await _screenshot(bob, "two-gateways-bob")

    _kill(cluster.pids["gateway 1"])  # ann's gateway dies without a word
    typed = ["typed while moving 1", "typed while moving 2", "typed while moving 3"]
    for text in typed:
        await ann.get_by_test_id("text").fill(text)
        await ann.get_by_test_id("text").press("Enter")
    await expect(ann.get_by_test_id("status")).to_have_attribute("data-state", "open")
    expected = ["hello from gateway 1", "hello from gateway 2", *typed]
    for page in (ann, bob):
        await expect(page.locator(".message .text")).to_have_text(expected)
    await expect(ann.get_by_test_id("pending")).to_have_count(0)
    assert await ann.evaluate("() => window.chat.ws.url") == cluster.urls[1].replace("http", "ws", 1) + "/ws"
    await expect(bob.get_by_test_id("users").locator("li")).to_have_text(["ann", "bob"])
    await _screenshot(ann, "after-failover-ann")
    await _screenshot(bob, "after-failover-bob")
    assert problems == []
