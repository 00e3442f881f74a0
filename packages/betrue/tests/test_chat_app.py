"""The chat example over real HTTP and WebSocket: pages, commands, pushes, presence, a swapped store."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import zlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from betrue.server import Application, Conflict, Forbidden, Unauthorized
from betrue.ws import WsClient

ROOT = Path(__file__).resolve().parents[3]
PASSWORD = "correct horse battery"
FAST_HASHES = {"CHAT_ARGON2_MEMORY": "1024", "CHAT_ARGON2_TIME": "1"}  # argon2id still, just cheap for tests


def png(width: int, height: int) -> bytes:
    """A valid RGB PNG of one colour, made here (no image library needed)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\x2a\x7f\xd4" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


PNG = png(1, 1)


async def login(client: WsClient, name: str) -> str:
    """Register ``name`` over the WebSocket (which logs the connection in) and return its bearer token."""
    session = await client.call("user/register", {"name": name, "password": PASSWORD})
    token: str = session["token"]
    return token


@pytest.fixture
def chat_app(monkeypatch: pytest.MonkeyPatch, chat_database: str) -> Application:
    monkeypatch.syspath_prepend(str(ROOT))
    from examples.chat.app import create_app

    environ = {"HTTP_PORT": "0", "LOG_LEVEL": "WARNING", "DATABASE_URL": chat_database, **FAST_HASHES}
    return create_app(environ=environ, env_file=None)


@pytest.fixture(params=["monolith", "cluster"])
async def base_url(request: pytest.FixtureRequest, chat_database: str) -> AsyncIterator[str]:
    """The chat's URL in either shape: one process, or a gateway of 2 (with 2 chat instances over NATS)."""
    from examples.chat.shapes import environment, running

    nats_url = os.environ.get("BETRUE_TEST_NATS_URL", "nats://127.0.0.1:4222")
    async with running(request.param, environment(chat_database, nats_url)) as shape:
        yield shape.urls[0]


async def test_the_page_the_browser_client_the_api_and_the_docs_are_served(base_url: str) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.get(base_url + "/") as page:
            html = await page.text()
            policy = page.headers.get("Content-Security-Policy", "")
        async with session.get(base_url + "/betrue-ws/betrue-ws.js") as script:
            client_js = await script.text()
            script_type = script.headers["Content-Type"]
        async with session.post(base_url + "/api/chat/rooms", json={}) as anonymous:
            refused = await anonymous.json()
        credentials = {"name": "ann", "password": PASSWORD}
        async with session.post(base_url + "/api/user/register", json=credentials) as registered:
            token = (await registered.json())["result"]["token"]
        headers = {"Authorization": f"Bearer {token}"}
        async with session.post(base_url + "/api/chat/rooms", json={}, headers=headers) as api:
            rooms = await api.json()
        async with session.get(base_url + "/docs/asyncapi.json") as docs:
            asyncapi = await docs.json()
    assert 'data-ws-path="/ws"' in html
    assert "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "<script>" not in html  # no inline script: the policy forbids it
    assert 'type="importmap"' not in html
    assert "export class BetrueWs" in client_js
    assert "javascript" in script_type
    assert (refused["code"], refused["status"]) == (401, "Unauthorized")  # every command but login needs a token
    assert rooms["result"]["rooms"] == [{"name": "general", "online": 0}, {"name": "random", "online": 0}]
    pushed = {message["name"] for message in asyncapi["components"]["messages"].values()}
    assert {"chat.message", "chat.presence"} <= pushed


async def test_two_users_chat_in_a_room_and_see_each_other_come_and_go(base_url: str) -> None:
    url = base_url + "/ws"
    async with WsClient(url) as ann:
        await login(ann, "ann")
        assert await ann.call("chat/join", {"room": "general"}) == {"room": "general", "users": ["ann"]}
        async with WsClient(url) as bob:
            await login(bob, "bob")
            assert (await bob.call("chat/join", {"room": "general"}))["users"] == ["ann", "bob"]
            came = await _presence_of(ann, "bob")
            assert (came["online"], came["users"]) == (True, ["ann", "bob"])
            sent = await bob.call("chat/send", {"room": "general", "text": "  hello ann  "})
            pushed = await ann.next_event("chat.message", timeout=5)
            assert pushed["data"] == sent
            assert (sent["user"], sent["text"], sent["room"]) == ("bob", "hello ann", "general")
        went = await _presence_of(ann, "bob")  # bob closed his tab
        assert (went["online"], went["users"]) == (False, ["ann"])
        history = await ann.call("chat/history", {"room": "general"})
        assert [m["text"] for m in history["messages"]] == ["hello ann"]


async def _presence_of(client: WsClient, user: str, *, online: bool | None = None) -> dict[str, Any]:
    while True:
        event = await client.next_event("chat.presence", timeout=5)
        if event["data"]["user"] == user and online in (None, event["data"]["online"]):
            data: dict[str, Any] = event["data"]
            return data


async def test_leaving_a_room_stops_its_pushes_and_tells_the_others(base_url: str) -> None:
    url = base_url + "/ws"
    async with WsClient(url) as ann, WsClient(url) as bob:
        for client, name in ((ann, "ann"), (bob, "bob")):
            await login(client, name)
            await client.call("chat/join", {"room": "lobby"})
        await bob.call("chat/leave", {"room": "lobby"})
        went = await _presence_of(ann, "bob", online=False)
        assert (went["online"], went["users"]) == (False, ["ann"])
        await ann.call("chat/send", {"room": "lobby", "text": "anyone?"})
        await bob.call("chat/join", {"room": "random"})
        await ann.call("chat/join", {"room": "random"})
        await ann.call("chat/send", {"room": "random", "text": "there you are"})
        message = await bob.next_event("chat.message", timeout=5)
        assert message["data"]["text"] == "there you are"  # "anyone?" in lobby never reached bob


async def test_a_new_room_is_announced_to_everyone(base_url: str) -> None:
    url = base_url + "/ws"
    async with WsClient(url) as ann, WsClient(url) as watcher:
        await login(ann, "ann")
        await login(watcher, "watcher")
        await ann.call("chat/join", {"room": "new-room"})
        assert (await watcher.next_event("chat.room", timeout=5))["data"] == {"name": "new-room"}
        rooms = await watcher.call("chat/rooms")
        assert {"name": "new-room", "online": 1} in rooms["rooms"]


async def test_the_rules_of_the_chat(base_url: str) -> None:
    async with WsClient(base_url + "/ws") as ann, aiohttp.ClientSession() as session:
        with pytest.raises(Unauthorized):
            await ann.call("chat/send", {"room": "general", "text": "hi"})
        await login(ann, "ann")
        with pytest.raises(Conflict):
            await ann.call("user/register", {"name": "ANN", "password": PASSWORD})  # names are case-blind
        wrong = await ann.call_envelope("user/login", {"name": "ann", "password": PASSWORD + "!"})
        assert (wrong["code"], wrong["error"]["details"]) == (401, {"reason": "bad_credentials"})
        assert (await ann.call("user/login", {"name": "Ann", "password": PASSWORD}))["user"] == "ann"
        with pytest.raises(Forbidden):
            await ann.call("chat/send", {"room": "general", "text": "not joined yet"})
        invalid = await ann.call_envelope("chat/join", {"room": "Bad Room!"})
        assert (invalid["code"], invalid["status"]) == (400, "ValidationError")
        async with session.post(base_url + "/api/chat/join", json={"room": "general"}) as over_http:
            assert over_http.status == 404  # rooms are a WebSocket matter: join is not served over HTTP
            assert (await over_http.json())["error"]["details"]["reason"] == "transport"


async def test_the_store_is_a_service_another_implementation_can_replace(chat_app: Application) -> None:
    from examples.chat.store import ChatConfig, MemoryChatStore

    texts: list[str] = []

    class RecordingStore(MemoryChatStore):
        async def add_message(self, room: str, user: str, text: str, **extra: Any) -> dict[str, Any]:
            texts.append(text)
            return await super().add_message(room, user, text, **extra)

    chat_app.replace_service("chat_store", RecordingStore, config_class=ChatConfig)
    await chat_app.start()
    try:
        async with WsClient(chat_app.service("http").url + "/ws") as ann:
            await login(ann, "ann")
            await ann.call("chat/join", {"room": "general"})
            await ann.call("chat/send", {"room": "general", "text": "stored elsewhere"})
    finally:
        await chat_app.stop()
    assert texts == ["stored elsewhere"]


async def test_an_image_is_uploaded_over_http_and_sent_by_id_over_the_websocket(base_url: str) -> None:
    async with WsClient(base_url + "/ws") as ann, WsClient(base_url + "/ws") as bob, aiohttp.ClientSession() as http:
        ann_token, bob_token = await login(ann, "ann"), await login(bob, "bob")
        for client in (ann, bob):
            await client.call("chat/join", {"room": "general"})

        async def upload(token: str | None, data: bytes, content_type: str) -> tuple[int, dict[str, Any]]:
            form = aiohttp.FormData()
            form.add_field("file", data, filename="dot.png", content_type=content_type)
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            async with http.post(base_url + "/api/chat/upload", data=form, headers=headers) as reply:
                return reply.status, await reply.json()

        assert (await upload(None, PNG, "image/png"))[0] == 401
        assert (await upload(ann_token, b"<script>", "text/html"))[0] == 415
        status, uploaded = await upload(ann_token, PNG, "image/png")
        assert (status, uploaded["result"]["type"], uploaded["result"]["size"]) == (200, "image/png", len(PNG))
        attachment = uploaded["result"]["id"]
        stolen = await bob.call_envelope("chat/send", {"room": "general", "attachment": attachment})
        assert stolen["code"] == 404  # only the uploader can post it
        sent = await ann.call("chat/send", {"room": "general", "text": "look", "attachment": attachment})
        pushed = await bob.next_event("chat.message", timeout=5)
        assert pushed["data"] == sent
        measured = {key: sent["attachment"].pop(key) for key in ("width", "height") if key in sent["attachment"]}
        assert sent["attachment"] == {"id": attachment, "name": "dot.png", "type": "image/png", "size": len(PNG)}
        assert measured in ({}, {"width": 1, "height": 1})  # once the chat/measure job has run
        headers = {"Authorization": f"Bearer {bob_token}"}
        async with http.post(base_url + "/api/chat/attachment", json={"id": attachment}, headers=headers) as image:
            assert (image.status, image.headers["Content-Type"], await image.read()) == (200, "image/png", PNG)
            assert image.headers["Content-Disposition"].startswith("inline")


async def test_guessing_passwords_is_rate_limited(base_url: str) -> None:
    async with WsClient(base_url + "/ws") as eve:
        answers = [
            (await eve.call_envelope("user/login", {"name": "ann", "password": f"guess-{n:04d}"}))["code"]
            for n in range(11)
        ]
    assert answers == [401] * 10 + [429]


async def serve_chat(environ: dict[str, str]) -> tuple[asyncio.subprocess.Process, str]:
    """``betrue run examples.chat.app:app`` (what ``make run`` does) and the URL it printed."""
    betrue = Path(sys.executable).with_name("betrue")
    process = await asyncio.create_subprocess_exec(
        str(betrue),
        "run",
        "examples.chat.app:app",
        cwd=ROOT,
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None
    line = (await asyncio.wait_for(process.stdout.readline(), 90)).decode()
    assert line.startswith("chat: open http://127.0.0.1:"), line
    return process, line.split()[2].rstrip("/")


async def stop_chat(process: asyncio.subprocess.Process) -> str:
    """SIGINT, as Ctrl-C does; the exit code must be 0. Returns what it logged."""
    process.send_signal(signal.SIGINT)
    _, logged = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, logged.decode()[-2000:]
    return logged.decode()


async def test_make_run_keeps_users_rooms_and_history_in_the_embedded_postgres_across_a_restart() -> None:
    if importlib.util.find_spec("pgserver") is None:  # without it the chat would use the machine's server
        pytest.skip("the pgserver wheel is not installed (Python 3.13+): make run would use 127.0.0.1:5432")
    folder = Path(tempfile.mkdtemp(prefix="betrue-chat-"))  # in /tmp: the embedded server's user can reach it
    environ = {k: v for k, v in os.environ.items() if k != "DATABASE_URL" and not k.startswith("PG")}
    environ |= {"HTTP_PORT": "0", "LOG_LEVEL": "INFO", "DB_EMBEDDED_DIR": str(folder / "pg"), **FAST_HASHES}
    try:
        process, url = await serve_chat(environ)
        try:
            async with aiohttp.ClientSession() as session, session.get(url + "/") as page:
                assert page.status == 200
                assert "betrue chat" in await page.text()
            async with WsClient(url + "/ws") as ann, aiohttp.ClientSession() as http:
                token = await login(ann, "ann")
                await ann.call("chat/join", {"room": "kept"})
                form = aiohttp.FormData()
                form.add_field("file", PNG, filename="dot.png", content_type="image/png")
                headers = {"Authorization": f"Bearer {token}"}
                async with http.post(url + "/api/chat/upload", data=form, headers=headers) as reply:
                    image = (await reply.json())["result"]["id"]
                sent = {"room": "kept", "text": "still here after a restart", "attachment": image}
                await ann.call("chat/send", sent)
        finally:
            logged = await stop_chat(process)
        assert "database: embedded PostgreSQL" in logged  # one line says which database

        process, url = await serve_chat(environ)
        try:
            async with aiohttp.ClientSession() as http:
                credentials = {"name": "ann", "password": PASSWORD}
                async with http.post(url + "/api/user/login", json=credentials) as reply:
                    assert reply.status == 200
                    token = (await reply.json())["result"]["token"]
                headers = {"Authorization": f"Bearer {token}"}
                async with http.post(url + "/api/chat/rooms", json={}, headers=headers) as reply:
                    rooms = [room["name"] for room in (await reply.json())["result"]["rooms"]]
                async with http.post(url + "/api/chat/history", json={"room": "kept"}, headers=headers) as reply:
                    messages = (await reply.json())["result"]["messages"]
                async with http.post(url + "/api/chat/attachment", json={"id": image}, headers=headers) as reply:
                    kept_image = (reply.status, await reply.read())
                taken = {"name": "ann", "password": "another password"}
                async with http.post(url + "/api/user/register", json=taken) as reply:
                    assert reply.status == 409
        finally:
            await stop_chat(process)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    assert rooms == ["general", "random", "kept"]
    assert [(m["user"], m["text"]) for m in messages] == [("ann", "still here after a restart")]
    assert messages[0]["attachment"] == {"id": image, "name": "dot.png", "type": "image/png", "size": len(PNG)}
    assert kept_image == (200, PNG)
