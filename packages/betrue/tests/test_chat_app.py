"""The chat example over real HTTP and WebSocket: pages, commands, pushes, presence, a swapped store."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from betrue.server import Application, Conflict, Forbidden, Unauthorized
from betrue.ws import WsClient

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def chat_app(monkeypatch: pytest.MonkeyPatch) -> Application:
    monkeypatch.syspath_prepend(str(ROOT))
    from examples.chat.app import create_app

    return create_app(environ={"HTTP_PORT": "0", "LOG_LEVEL": "WARNING"}, env_file=None)


@pytest.fixture
async def base_url(chat_app: Application) -> AsyncIterator[str]:
    await chat_app.start()
    try:
        yield chat_app.service("http").url
    finally:
        await chat_app.stop()


async def test_the_page_the_browser_client_the_api_and_the_docs_are_served(base_url: str) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.get(base_url + "/") as page:
            html = await page.text()
        async with session.get(base_url + "/betrue-ws/betrue-ws.js") as script:
            client_js = await script.text()
            script_type = script.headers["Content-Type"]
        async with session.post(base_url + "/api/chat/rooms", json={}) as api:
            rooms = await api.json()
        async with session.get(base_url + "/docs/asyncapi.json") as docs:
            asyncapi = await docs.json()
    assert 'data-ws-path="/ws"' in html
    assert '"betrue-ws": "/betrue-ws/betrue-ws.js"' in html
    assert "export class BetrueWs" in client_js
    assert "javascript" in script_type
    assert rooms["result"]["rooms"] == [{"name": "general", "online": 0}, {"name": "random", "online": 0}]
    pushed = {message["name"] for message in asyncapi["components"]["messages"].values()}
    assert {"chat.message", "chat.presence"} <= pushed


async def test_two_users_chat_in_a_room_and_see_each_other_come_and_go(base_url: str) -> None:
    url = base_url + "/ws"
    async with WsClient(url) as ann:
        await ann.call("user/login", {"name": "ann"})
        assert await ann.call("chat/join", {"room": "general"}) == {"room": "general", "users": ["ann"]}
        async with WsClient(url) as bob:
            await bob.call("user/login", {"name": "bob"})
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
            await client.call("user/login", {"name": name})
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
        await ann.call("user/login", {"name": "ann"})
        await ann.call("chat/join", {"room": "new-room"})
        assert (await watcher.next_event("chat.room", timeout=5))["data"] == {"name": "new-room"}
        rooms = await watcher.call("chat/rooms")
        assert {"name": "new-room", "online": 1} in rooms["rooms"]


async def test_the_rules_of_the_chat(base_url: str) -> None:
    async with WsClient(base_url + "/ws") as ann, aiohttp.ClientSession() as session:
        with pytest.raises(Unauthorized):
            await ann.call("chat/send", {"room": "general", "text": "hi"})
        await ann.call("user/login", {"name": "ann"})
        with pytest.raises(Conflict):
            await ann.call("user/login", {"name": "eve"})
        with pytest.raises(Forbidden):
            await ann.call("chat/send", {"room": "general", "text": "not joined yet"})
        invalid = await ann.call_envelope("chat/join", {"room": "Bad Room!"})
        assert (invalid["code"], invalid["status"]) == (400, "ValidationError")
        async with session.post(base_url + "/api/chat/join", json={"room": "general"}) as over_http:
            assert over_http.status == 401  # no connection, no login: rooms are a WebSocket matter


async def test_the_store_is_a_service_another_implementation_can_replace(chat_app: Application) -> None:
    from examples.chat.store import ChatConfig, MemoryChatStore

    texts: list[str] = []

    class RecordingStore(MemoryChatStore):
        async def add_message(self, room: str, user: str, text: str) -> dict[str, Any]:
            texts.append(text)
            return await super().add_message(room, user, text)

    chat_app.replace_service("chat_store", RecordingStore, config_class=ChatConfig)
    await chat_app.start()
    try:
        async with WsClient(chat_app.service("http").url + "/ws") as ann:
            await ann.call("user/login", {"name": "ann"})
            await ann.call("chat/join", {"room": "general"})
            await ann.call("chat/send", {"room": "general", "text": "stored elsewhere"})
    finally:
        await chat_app.stop()
    assert texts == ["stored elsewhere"]


async def test_make_run_serves_the_chat_and_prints_its_url() -> None:
    betrue = Path(sys.executable).with_name("betrue")
    environ = {**os.environ, "HTTP_PORT": "0", "LOG_LEVEL": "WARNING"}
    process = await asyncio.create_subprocess_exec(
        str(betrue), "run", "examples.chat.app:app", cwd=ROOT, env=environ, stdout=subprocess.PIPE
    )
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), 20)).decode()
        assert line.startswith("chat: open http://127.0.0.1:"), line
        url = line.split()[2]
        async with aiohttp.ClientSession() as session, session.get(url) as page:
            assert page.status == 200
            assert "betrue chat" in await page.text()
    finally:
        process.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(process.wait(), 20) == 0
