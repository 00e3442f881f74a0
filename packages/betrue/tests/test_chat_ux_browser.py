"""The chat page as people use it, in headless Chromium: a phone-sized screen, a dropped connection,
a lock-out, history paging. Screenshots are kept under test-artifacts/chat/ (git-ignored)."""

from __future__ import annotations

import re
import socket
import struct
import zlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from betrue.server import Application
from betrue.ws import WsClient

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[3]
ARTIFACTS = ROOT / "test-artifacts" / "chat"
PHONE = {"width": 390, "height": 844}
BASE_ENV = {"HTTP_PORT": "0", "LOG_LEVEL": "WARNING", "CHAT_ARGON2_MEMORY": "1024", "CHAT_ARGON2_TIME": "1"}
Start = Callable[..., Any]


@pytest.fixture
async def start_chat(monkeypatch: pytest.MonkeyPatch, chat_database: str) -> AsyncIterator[Start]:
    """``await start_chat(**env)``: a chat process (an Application) with these settings, on this test's own
    database (every start of one test shares it, as a restarted server would); stopped at the end."""
    monkeypatch.syspath_prepend(str(ROOT))
    from examples.chat.app import create_app

    started: list[Application] = []

    async def start(**environ: str) -> Application:
        settings = {**BASE_ENV, "DATABASE_URL": chat_database, **environ}
        app: Application = create_app(environ=settings, env_file=None)
        await app.start()
        started.append(app)
        return app

    try:
        yield start
    finally:
        for app in reversed(started):
            await app.stop()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\x2a\x7f\xd4" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


async def _page(browser: Any, url: str, problems: list[str], **context: Any) -> Any:
    page = await (await browser.new_context(**context)).new_page()
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    await page.goto(url)
    return page


async def _register(page: Any, name: str) -> None:
    from playwright.async_api import expect

    await expect(page.get_by_test_id("login")).to_be_visible()
    await page.get_by_test_id("login-name").fill(name)
    await page.get_by_test_id("login-password").fill(f"{name}'s long password")
    await page.get_by_test_id("register-submit").click()
    await expect(page.get_by_test_id("me")).to_have_text(name)


async def _screenshot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")
    return path


async def _no_sideways_scroll(page: Any) -> None:
    widths = await page.evaluate(
        "() => [document.documentElement.scrollWidth, document.body.scrollWidth, window.innerWidth]"
    )
    assert max(widths[:2]) <= widths[2], f"the page is wider than the screen: {widths}"


async def test_on_a_390x844_phone_every_control_is_on_screen_and_works(browser: Any, start_chat: Start) -> None:
    from playwright.async_api import expect

    expect.set_options(timeout=10_000)
    app = await start_chat()
    url = app.service("http").url + "/"
    problems: list[str] = []
    page = await _page(browser, url, problems, viewport=PHONE, device_scale_factor=1, is_mobile=True, has_touch=True)

    await expect(page.get_by_test_id("login")).to_be_visible()
    await page.keyboard.press("Escape")  # the dialog stays: no blank page
    await page.keyboard.press("Escape")
    await expect(page.get_by_test_id("login")).to_be_visible()
    await page.get_by_test_id("login-submit").click()  # nothing filled in: each field says what it needs
    name_rule = "Letters, digits, space, dot, _ or -, starting with a letter or digit (at most 32)."
    await expect(page.get_by_test_id("login-name-error")).to_have_text(name_rule)
    await expect(page.get_by_test_id("login-password-error")).to_have_text("At least 8 characters.")
    await _screenshot(page, "phone-login-errors")

    await _register(page, "ann")
    async with WsClient(app.service("http").url + "/ws") as bob:
        await bob.call("user/register", {"name": "bob", "password": "bob's long password"})
        await bob.call("chat/join", {"room": "general"})
        await expect(page.get_by_test_id("users").locator("li")).to_have_text(["ann", "bob"])
        controls = ["me", "status", "logout", "room-general", "room-random", "new-room-name", "add-room"]
        controls += ["users", "room-title", "messages", "text", "attach", "send", "file-hint"]
        for control in controls:
            await expect(page.get_by_test_id(control)).to_be_in_viewport(ratio=1)  # wholly on screen
        await _no_sideways_scroll(page)

        await page.get_by_test_id("text").fill("hello from a phone")
        await page.get_by_test_id("send").click()
        await expect(page.locator(".message:not(.pending) .text")).to_have_text(["hello from a phone"])
        assert (await bob.next_event("chat.message", timeout=5))["data"]["text"] == "hello from a phone"

        for n in range(15):  # enough to fill the list: it scrolls
            await bob.call("chat/send", {"room": "general", "text": f"filler {n}"})
        await expect(page.locator(".message .text").last).to_have_text("filler 14")
        picture = {"name": "wide.png", "mimeType": "image/png", "buffer": _png(900, 300)}
        await page.get_by_test_id("file").set_input_files(picture)
        await expect(page.get_by_test_id("file-hint")).to_contain_text("wide.png")
        await page.get_by_test_id("send").click()
        decoded = "() => document.querySelector('img[data-testid=attachment]')?.naturalWidth === 900"
        await page.wait_for_function(decoded)
        await _no_sideways_scroll(page)  # a wide image is scaled down, not widening the page
        # the image made the list taller after it was shown: the list still ends at its last message
        at_end = "(l) => l.scrollHeight > l.clientHeight && l.scrollHeight - l.scrollTop - l.clientHeight < 2"
        await page.wait_for_function(f"() => ({at_end})(document.getElementById('messages'))")
        await _screenshot(page, "phone-chat")

        await page.get_by_test_id("new-room-name").fill("Bad Room!")
        await page.get_by_test_id("add-room").click()
        room_rule = "a-z, 0-9 and -, starting with a letter or digit (at most 32)."
        await expect(page.get_by_test_id("new-room-error")).to_have_text(room_rule)
        await page.get_by_test_id("new-room-name").fill("phones")
        await page.get_by_test_id("add-room").click()
        await expect(page.get_by_test_id("room-title")).to_have_text("#phones")
        await expect(page.get_by_test_id("room-phones")).to_be_in_viewport()
        await _no_sideways_scroll(page)
        await _screenshot(page, "phone-new-room")

    await page.get_by_test_id("logout").click()
    await expect(page.get_by_test_id("login")).to_be_visible()
    await expect(page.get_by_test_id("me")).to_have_text("")
    assert await page.evaluate("() => sessionStorage.getItem('chat.token')") is None
    await page.context.close()
    assert problems == []


@pytest.mark.parametrize("comeback", ["next-server", "same-server-restarted"])
async def test_messages_typed_offline_are_sent_in_order_after_the_rejoin(
    browser: Any, start_chat: Start, comeback: str
) -> None:
    """next-server: the page's list is [A, B]; A is stopped and B is not up yet, then B starts.
    same-server-restarted: one server (no list), stopped, then started again on its port.
    What ann typed meanwhile waits, then goes out once the page is logged in (token) and rejoined."""
    from playwright.async_api import expect

    expect.set_options(timeout=20_000)
    secret = {"JWT_SECRET": "one secret for every server of this test"}
    port = _free_port()
    if comeback == "next-server":
        first = await start_chat(**secret, CHAT_SERVERS=f"/ws,ws://127.0.0.1:{port}/ws")
        then = {"HTTP_PORT": str(port), "WS_ORIGINS": "*"}  # B accepts the page A served
    else:
        first = await start_chat(**secret, HTTP_PORT=str(port))
        then = {"HTTP_PORT": str(port)}
    problems: list[str] = []
    page = await _page(browser, first.service("http").url + "/", problems)
    await _register(page, "ann")
    await expect(page.get_by_test_id("status")).to_have_attribute("data-state", "open")

    await first.stop()
    await expect(page.get_by_test_id("status")).to_have_attribute("data-state", "connecting")
    typed = ["one", "two", "three"]
    for text in typed:
        await page.get_by_test_id("text").fill(text)
        await page.get_by_test_id("text").press("Enter")
    await expect(page.get_by_test_id("pending").locator(".text")).to_have_text(typed)
    await expect(page.get_by_test_id("queued")).to_have_text("3 messages waiting for the connection")
    await _screenshot(page, f"offline-queue-{comeback}")

    await start_chat(**secret, **then)
    await expect(page.get_by_test_id("status")).to_have_attribute("data-state", "open")
    await expect(page.get_by_test_id("pending")).to_have_count(0)
    await expect(page.locator(".message .text")).to_have_text(typed)
    await expect(page.get_by_test_id("queued")).to_be_hidden()
    await expect(page.get_by_test_id("error")).to_be_hidden()  # never "Join general before writing to it"
    url = f"ws://127.0.0.1:{port}/ws"
    assert await page.evaluate("() => window.chat.ws.url") == url

    async with WsClient(url) as bob:
        await bob.call("user/register", {"name": "bob", "password": "bob's long password"})
        history = await bob.call("chat/history", {"room": "general"})
    assert [(m["user"], m["text"]) for m in history["messages"]] == [("ann", text) for text in typed]  # once each
    await page.context.close()
    # Chromium logs each failed try at a stopped (or stopping, or starting) server as a console error:
    # network noise, expected here; nothing else may go wrong
    assert [problem for problem in problems if not problem.startswith("WebSocket connection to")] == []


async def test_a_message_whose_answer_was_lost_is_not_sent_twice(browser: Any, start_chat: Start) -> None:
    """The server stores the message, then the connection drops before its answer arrives: after the
    rejoin the page finds it in the history and does not send it again."""
    from playwright.async_api import expect

    expect.set_options(timeout=20_000)
    app = await start_chat()
    problems: list[str] = []
    page = await _page(browser, app.service("http").url + "/", problems)
    await _register(page, "ann")
    await page.evaluate(
        """() => {  // drop the answer to the next chat/send and close the connection instead (once)
            const ws = window.chat.ws;
            const receive = ws._receive.bind(ws);
            ws._receive = (text) => {
                if (JSON.parse(text).result?.text === "answer lost") {
                    ws._receive = receive;
                    ws.socket.close(4000, "lost");
                    return;
                }
                receive(text);
            };
        }"""
    )
    await page.get_by_test_id("text").fill("answer lost")
    await page.get_by_test_id("send").click()
    await expect(page.get_by_test_id("status")).to_have_attribute("data-state", "connecting")
    await expect(page.get_by_test_id("status")).to_have_attribute("data-state", "open")
    await expect(page.get_by_test_id("pending")).to_have_count(0)
    await expect(page.locator(".message .text")).to_have_text(["answer lost"])
    async with WsClient(app.service("http").url + "/ws") as bob:
        await bob.call("user/register", {"name": "bob", "password": "bob's long password"})
        history = await bob.call("chat/history", {"room": "general"})
    assert [m["text"] for m in history["messages"]] == ["answer lost"]  # stored once, not sent again
    await page.context.close()
    assert problems == []


async def test_files_that_are_not_images_or_too_large_are_refused_in_plain_words(
    browser: Any, start_chat: Start
) -> None:
    from playwright.async_api import expect

    expect.set_options(timeout=10_000)
    app = await start_chat()
    problems: list[str] = []
    page = await _page(browser, app.service("http").url + "/", problems)
    await _register(page, "ann")
    formatted = await page.evaluate(
        """async () => {
            const { humanBytes, humanWait, describe } = await import("/format.js");
            return [humanBytes(5373952), humanBytes(5242880), humanBytes(70), humanWait(125),
                    describe({ code: 413, details: { limit: 5373952 } }, { maxImage: 5242880 })];
        }"""
    )
    assert formatted == ["5.1 MiB", "5 MiB", "70 B", "2 min 5 s", "The image is too large: images up to 5 MiB."]

    big = {"name": "big.png", "mimeType": "image/png", "buffer": b"\x89PNG\r\n\x1a\n" + bytes(6 * 1024 * 1024)}
    await page.get_by_test_id("file").set_input_files(big)  # refused before any upload
    await expect(page.get_by_test_id("error")).to_have_text("big.png is 6 MiB: images up to 5 MiB.")
    await expect(page.get_by_test_id("file-hint")).to_have_text("Images up to 5 MiB (PNG, JPEG, GIF, WebP)")

    renamed = {"name": "x.png", "mimeType": "image/png", "buffer": b"just some text, renamed\n"}
    await page.get_by_test_id("file").set_input_files(renamed)
    await page.get_by_test_id("text").fill("look at this")
    await page.get_by_test_id("send").click()
    refused = "This file is not a PNG, JPEG, GIF or WebP image"
    await expect(page.get_by_test_id("error")).to_have_text(refused)
    await expect(page.locator(".message.failed .state")).to_have_text(f"not sent: {refused}")
    await expect(page.locator("img[data-testid=attachment]")).to_have_count(0)  # no broken image

    await page.get_by_test_id("text").fill("text still goes")  # the next message is not held up
    await page.get_by_test_id("send").click()
    await expect(page.locator(".message:not(.failed):not(.pending) .text")).to_have_text(["text still goes"])
    await page.context.close()
    # the refused upload is logged by Chromium as a failed request; nothing else went wrong
    assert [p for p in problems if "status of 415" not in p] == []


async def test_a_locked_out_login_shows_the_wait_and_counts_it_down(browser: Any, start_chat: Start) -> None:
    from playwright.async_api import expect

    expect.set_options(timeout=10_000)
    app = await start_chat(CHAT_LOGIN_BURST="1", CHAT_LOGIN_RATE="0.05")  # one try, then 20 s to wait
    problems: list[str] = []
    page = await _page(browser, app.service("http").url + "/", problems)
    await page.get_by_test_id("login-name").fill("mallory")
    await page.get_by_test_id("login-password").fill("a wrong password")
    await page.get_by_test_id("login-submit").click()
    await expect(page.get_by_test_id("login-error")).to_have_text("Wrong user name or password")
    await page.get_by_test_id("login-submit").click()
    await expect(page.get_by_test_id("login-error")).to_have_text(
        # 20 s, or a second less if the countdown already ticked
        re.compile(r"Too many attempts\. Try again in (19|20) s\.")
    )
    await expect(page.get_by_test_id("login-submit")).to_be_disabled()
    await expect(page.get_by_test_id("register-submit")).to_be_disabled()
    await page.context.close()
    assert problems == []


async def test_older_history_loads_on_demand_without_moving_what_is_read(browser: Any, start_chat: Start) -> None:
    from playwright.async_api import expect

    expect.set_options(timeout=10_000)
    app = await start_chat(CHAT_MESSAGES_PER_MINUTE="1000")  # 70 messages at once: past the default quota
    async with WsClient(app.service("http").url + "/ws") as bob:
        await bob.call("user/register", {"name": "bob", "password": "bob's long password"})
        await bob.call("chat/join", {"room": "general"})
        for n in range(70):
            await bob.call("chat/send", {"room": "general", "text": f"message {n}"})
        problems: list[str] = []
        page = await _page(browser, app.service("http").url + "/", problems, viewport={"width": 1000, "height": 700})
        await _register(page, "ann")
        texts = page.locator(".message .text")
        await expect(texts).to_have_count(50)  # the last page of history
        await expect(texts.last).to_have_text("message 69")
        await page.get_by_test_id("messages").evaluate("(list) => { list.scrollTop = 0; }")
        await page.get_by_test_id("load-older").click()
        await expect(texts).to_have_count(70)
        await expect(texts.first).to_have_text("message 0")
        await expect(page.get_by_test_id("load-older")).to_be_hidden()  # nothing older left
        await expect(page.locator(".message[data-id]").nth(20)).to_be_in_viewport()  # where the reader was
        reading = await page.get_by_test_id("messages").evaluate("(list) => list.scrollTop")
        assert reading > 0

        await bob.call("chat/send", {"room": "general", "text": "a new one"})
        await expect(texts.last).to_have_text("a new one")
        assert await page.get_by_test_id("messages").evaluate("(list) => list.scrollTop") == reading  # not yanked
        await page.context.close()
    assert problems == []
