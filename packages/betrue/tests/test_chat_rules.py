"""The chat's rules on every transport: uploads judged by their bytes, the join rule over HTTP, lock-out waits."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from betrue.server import Application
from betrue.ws import WsClient

ROOT = Path(__file__).resolve().parents[3]
PASSWORD = "correct horse battery"
FAST_HASHES = {"CHAT_ARGON2_MEMORY": "1024", "CHAT_ARGON2_TIME": "1"}
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de"
    "0000000c4944415408d763f8cfc000000301010018dd8db00000000049454e44ae426082"
)
JPEG_START = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(32)
GIF_START = b"GIF89a\x01\x00\x01\x00" + bytes(32)
WEBP_START = b"RIFF\x24\x00\x00\x00WEBPVP8 " + bytes(32)


@pytest.fixture(params=["postgres", "memory"])
async def chat(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, chat_database: str
) -> AsyncIterator[tuple[Application, str]]:
    """The chat on its fresh database (what ``make run`` keeps), and on the memory store (uploads in tmp_path)."""
    monkeypatch.syspath_prepend(str(ROOT))
    from examples.chat.app import create_app

    environ = {"HTTP_PORT": "0", "LOG_LEVEL": "WARNING", "CHAT_UPLOADS": str(tmp_path), **FAST_HASHES}
    environ["DATABASE_URL"] = chat_database
    app = create_app(environ=environ, env_file=None, store=request.param)
    await app.start()
    try:
        yield app, app.service("http").url
    finally:
        await app.stop()


async def _kept(app: Application, folder: Path) -> int:
    """How many uploads the app keeps: rows of chat_attachments, or files of the memory store's folder."""
    if app.container.has("db"):
        count = await app.service("db").fetchval("SELECT count(*) FROM chat_attachments")
        return int(count)
    return len(_files(folder))


def _files(folder: Path) -> list[Path]:
    return list(folder.iterdir())


async def _register(http: aiohttp.ClientSession, base_url: str, name: str) -> dict[str, str]:
    async with http.post(base_url + "/api/user/register", json={"name": name, "password": PASSWORD}) as reply:
        assert reply.status == 200, await reply.text()
        return {"Authorization": f"Bearer {(await reply.json())['result']['token']}"}


async def _upload(
    http: aiohttp.ClientSession, base_url: str, headers: dict[str, str], data: bytes, claimed: str
) -> tuple[int, dict[str, Any]]:
    form = aiohttp.FormData()
    form.add_field("file", data, filename="picture.png", content_type=claimed)
    async with http.post(base_url + "/api/chat/upload", data=form, headers=headers) as reply:
        return reply.status, await reply.json()


async def test_uploads_are_judged_by_their_bytes_not_by_the_type_the_browser_claims(
    chat: tuple[Application, str], tmp_path: Path
) -> None:
    app, base_url = chat
    async with aiohttp.ClientSession() as http:
        headers = await _register(http, base_url, "ann")
        status, refused = await _upload(http, base_url, headers, b"just text, renamed x.png\n" * 4, "image/png")
        assert (status, refused["status"]) == (415, "UnsupportedMediaType")
        assert refused["error"]["details"]["reason"] == "content"
        assert refused["error"]["message"] == "This file is not a PNG, JPEG, GIF or WebP image"
        assert await _kept(app, tmp_path) == 0  # nothing kept of a refused upload
        answers = {}
        claims = ((PNG, "image/jpeg"), (JPEG_START, "image/png"), (GIF_START, "image/png"), (WEBP_START, "image/gif"))
        for data, claimed in claims:
            status, accepted = await _upload(http, base_url, headers, data, claimed)
            assert status == 200, accepted
            answers[accepted["result"]["type"]] = accepted["result"]["size"] == len(data)
    # the type recorded (and served back) is the one the bytes say, whatever was claimed
    assert answers == {"image/png": True, "image/jpeg": True, "image/gif": True, "image/webp": True}


async def test_over_http_chat_send_needs_the_room_joined_and_creates_no_room(chat: tuple[Application, str]) -> None:
    _, base_url = chat
    async with aiohttp.ClientSession() as http, WsClient(base_url + "/ws") as bob:
        headers = await _register(http, base_url, "ann")
        for room in ("general", "brand-new"):
            message = {"room": room, "text": "not joined"}
            async with http.post(base_url + "/api/chat/send", json=message, headers=headers) as reply:
                refused = await reply.json()
            assert (reply.status, refused["error"]["details"]) == (403, {"room": room, "reason": "not_joined"})
        async with http.post(base_url + "/api/chat/rooms", json={}, headers=headers) as reply:
            assert [room["name"] for room in (await reply.json())["result"]["rooms"]] == ["general", "random"]
        async with http.post(base_url + "/api/chat/history", json={"room": "general"}, headers=headers) as reply:
            assert (await reply.json())["result"]["messages"] == []

        async with WsClient(base_url + "/ws") as ann_tab:  # ann's open tab is in general: HTTP may post there
            await ann_tab.call("user/login", {"name": "ann", "password": PASSWORD})
            await ann_tab.call("chat/join", {"room": "general"})
            await bob.call("user/register", {"name": "bob", "password": PASSWORD})
            await bob.call("chat/join", {"room": "general"})
            message = {"room": "general", "text": "from a script"}
            async with http.post(base_url + "/api/chat/send", json=message, headers=headers) as reply:
                assert reply.status == 200
            pushed = await bob.next_event("chat.message", timeout=5)
            assert (pushed["data"]["user"], pushed["data"]["text"]) == ("ann", "from a script")
        async with http.post(base_url + "/api/chat/send", json=message, headers=headers) as reply:
            assert reply.status == 403  # her tab closed: she is in no room any more


async def test_a_locked_out_login_is_told_how_many_seconds_to_wait(chat: tuple[Application, str]) -> None:
    _, base_url = chat
    async with aiohttp.ClientSession() as http:
        await _register(http, base_url, "ann")
        for attempt in range(20):
            credentials = {"name": "ann", "password": f"wrong guess {attempt}"}
            async with http.post(base_url + "/api/user/login", json=credentials) as reply:
                answer = await reply.json()
            if reply.status == 429:
                break
            assert reply.status == 401
        assert reply.status == 429, "20 wrong passwords in a row were never refused"
    wait = answer["error"]["details"]["retryAfter"]
    assert isinstance(wait, int)  # whole seconds, what the page counts down
    assert wait >= 1
