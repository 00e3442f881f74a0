"""The chat in a real browser (headless Chromium through Playwright): two users, one room."""

from __future__ import annotations

import struct
import zlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from betrue.server import Application

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
async def chat_url(monkeypatch: pytest.MonkeyPatch, chat_database: str) -> AsyncIterator[str]:
    monkeypatch.syspath_prepend(str(ROOT))
    from examples.chat.app import create_app

    environ = {"HTTP_PORT": "0", "LOG_LEVEL": "WARNING", "CHAT_ARGON2_MEMORY": "1024", "CHAT_ARGON2_TIME": "1"}
    environ["DATABASE_URL"] = chat_database
    app: Application = create_app(environ=environ, env_file=None)
    await app.start()
    try:
        yield app.service("http").url + "/"
    finally:
        await app.stop()


async def _open_as(browser: Any, url: str, name: str, problems: list[str]) -> Any:
    """A new browser context (a separate user) on the chat page: ``name`` creates an account and is logged in."""
    from playwright.async_api import expect

    context = await browser.new_context()
    page = await context.new_page()

    def console(message: Any) -> None:
        if message.type == "error":
            problems.append(f"{name}: {message.text}")

    page.on("pageerror", lambda error: problems.append(f"{name}: {error}"))
    page.on("console", console)
    await page.goto(url)
    await expect(page.get_by_test_id("login")).to_be_visible()
    await page.get_by_test_id("login-name").fill(name)
    await page.get_by_test_id("login-password").fill(f"{name}'s long password")
    await page.get_by_test_id("register-submit").click()
    await expect(page.get_by_test_id("room-title")).to_have_text("#general")
    await expect(page.get_by_test_id("me")).to_have_text(name)
    # the login dialog closes once the room is joined and its history loaded: until then it is modal and the
    # page behind it does not take input (a race that a slower store, or a loaded machine, makes visible)
    await expect(page.get_by_test_id("login")).to_be_hidden()
    return page


async def test_two_users_chat_see_presence_change_and_history_survives_a_reload(browser: Any, chat_url: str) -> None:
    from playwright.async_api import expect

    expect.set_options(timeout=10_000)
    problems: list[str] = []
    ann = await _open_as(browser, chat_url, "ann", problems)
    await expect(ann.get_by_test_id("status")).to_have_attribute("data-state", "open")
    bob = await _open_as(browser, chat_url, "bob", problems)

    users = ann.get_by_test_id("users").locator("li")
    await expect(users).to_have_text(["ann", "bob"])  # bob came: ann sees it without reloading

    await bob.get_by_test_id("text").fill("hello from bob")
    await bob.get_by_test_id("send").click()
    await expect(ann.get_by_test_id("messages").locator(".message .text")).to_have_text(["hello from bob"])
    await expect(bob.get_by_test_id("text")).to_have_value("")

    await bob.context.close()  # bob leaves by closing his tab
    await expect(users).to_have_text(["ann"])

    await ann.reload()  # history comes back; the tab still knows who it is
    await expect(ann.get_by_test_id("me")).to_have_text("ann")
    await expect(ann.get_by_test_id("messages").locator(".message .text")).to_have_text(["hello from bob"])
    await expect(ann.get_by_test_id("messages").locator(".message .author")).to_have_text(["bob"])
    await expect(users).to_have_text(["ann"])
    await ann.context.close()
    assert problems == []


async def test_switching_rooms_moves_presence_and_messages(browser: Any, chat_url: str) -> None:
    from playwright.async_api import expect

    expect.set_options(timeout=10_000)
    problems: list[str] = []
    ann = await _open_as(browser, chat_url, "ann", problems)
    bob = await _open_as(browser, chat_url, "bob", problems)
    await expect(ann.get_by_test_id("users").locator("li")).to_have_text(["ann", "bob"])

    await bob.get_by_test_id("room-random").click()
    await expect(bob.get_by_test_id("room-title")).to_have_text("#random")
    await expect(ann.get_by_test_id("users").locator("li")).to_have_text(["ann"])  # bob left general

    await bob.get_by_test_id("text").fill("only in random")
    await bob.get_by_test_id("send").click()
    await expect(bob.get_by_test_id("messages").locator(".message .text")).to_have_text(["only in random"])
    await expect(ann.get_by_test_id("messages").locator(".message")).to_have_count(0)
    await ann.context.close()
    await bob.context.close()
    assert problems == []


def png(width: int, height: int) -> bytes:
    """A valid RGB PNG of one colour, made here (no image library needed)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\x2a\x7f\xd4" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


async def test_two_users_log_in_and_one_sends_an_image_the_other_sees(browser: Any, chat_url: str) -> None:
    from playwright.async_api import expect

    expect.set_options(timeout=10_000)
    problems: list[str] = []
    ann = await _open_as(browser, chat_url, "ann", problems)
    bob = await _open_as(browser, chat_url, "bob", problems)
    await expect(ann.get_by_test_id("users").locator("li")).to_have_text(["ann", "bob"])

    await ann.get_by_test_id("file").set_input_files({"name": "dot.png", "mimeType": "image/png", "buffer": png(2, 2)})
    await ann.get_by_test_id("text").fill("a picture")
    await ann.get_by_test_id("send").click()  # uploaded over HTTP, its id sent over the WebSocket

    image = bob.get_by_test_id("messages").locator(".message img[data-testid=attachment]")
    await expect(image).to_have_count(1)
    await expect(image).to_have_attribute("alt", "dot.png")
    await expect(bob.get_by_test_id("messages").locator(".message .text")).to_have_text(["a picture"])
    await bob.wait_for_function(
        "() => document.querySelector('img[data-testid=attachment]')?.naturalWidth === 2"  # decoded, not broken
    )
    await ann.context.close()
    await bob.context.close()
    assert problems == []


async def test_the_page_asks_for_a_login_and_refuses_a_wrong_password(browser: Any, chat_url: str) -> None:
    from playwright.async_api import expect

    expect.set_options(timeout=10_000)
    problems: list[str] = []
    ann = await _open_as(browser, chat_url, "ann", problems)
    await ann.context.close()
    context = await browser.new_context()
    page = await context.new_page()
    await page.goto(chat_url)
    await page.get_by_test_id("login-name").fill("ann")
    await page.get_by_test_id("login-password").fill("not ann's password")
    await page.get_by_test_id("login-submit").click()
    await expect(page.locator("#login-error")).to_have_text("Wrong user name or password")
    await page.get_by_test_id("login-password").fill("ann's long password")
    await page.get_by_test_id("login-submit").click()
    await expect(page.get_by_test_id("me")).to_have_text("ann")
    await context.close()
    assert problems == []


async def test_after_a_server_restart_the_page_logs_in_again_and_shows_the_history(
    browser: Any, monkeypatch: pytest.MonkeyPatch, chat_database: str
) -> None:
    from playwright.async_api import expect

    from betrue.postgres.scratch import free_port

    monkeypatch.syspath_prepend(str(ROOT))
    from examples.chat.app import create_app

    expect.set_options(timeout=10_000)
    port = str(free_port())  # the same address before and after the restart, as for a real server
    environ = {"HTTP_PORT": port, "LOG_LEVEL": "WARNING", "CHAT_ARGON2_MEMORY": "1024", "CHAT_ARGON2_TIME": "1"}
    environ["DATABASE_URL"] = chat_database  # a new JWT_SECRET each start: old tokens die, accounts must not
    problems: list[str] = []
    first: Application = create_app(environ=environ, env_file=None)
    await first.start()
    try:
        url = first.service("http").url + "/"
        ann = await _open_as(browser, url, "ann", problems)
        await expect(ann.get_by_test_id("status")).to_have_attribute("data-state", "open")
        await expect(ann.get_by_test_id("users").locator("li")).to_have_text(["ann"])  # joined #general
        await ann.get_by_test_id("text").fill("written before the restart")
        await ann.get_by_test_id("send").click()
        await expect(ann.get_by_test_id("messages").locator(".message .text")).to_have_text(
            ["written before the restart"]
        )
        await ann.context.close()
    finally:
        await first.stop()

    second: Application = create_app(environ=environ, env_file=None)
    await second.start()
    try:
        context = await browser.new_context()
        page = await context.new_page()
        await page.goto(url)
        await page.get_by_test_id("login-name").fill("ann")
        await page.get_by_test_id("login-password").fill("ann's long password")
        await page.get_by_test_id("login-submit").click()
        await expect(page.get_by_test_id("me")).to_have_text("ann")
        await expect(page.get_by_test_id("messages").locator(".message .text")).to_have_text(
            ["written before the restart"]
        )
        await expect(page.get_by_test_id("messages").locator(".message .author")).to_have_text(["ann"])
        await context.close()
    finally:
        await second.stop()
    assert problems == []
