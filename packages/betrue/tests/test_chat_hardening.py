"""Issue 17, the chat's points: input a schema accepts never makes a 500, and a registered user (or a
stranger) cannot flood the chat or lock anybody out. Each test failed before the fix."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from betrue.server import Application, TooManyRequests
from betrue.ws import WsClient

PASSWORD = "correct horse battery"
FAST_HASHES = {"CHAT_ARGON2_MEMORY": "1024", "CHAT_ARGON2_TIME": "1"}
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def chat(**env: str) -> Application:
    from examples.chat.app import create_app

    environ = {"HTTP_PORT": "0", "LOG_LEVEL": "WARNING", **FAST_HASHES, **env}
    # Quotas and limits live in the commands, whatever the store: the in-memory one keeps each test's data its
    # own (and its upload folder in sight); test_chat_app runs the commands on PostgreSQL.
    return create_app(environ=environ, env_file=None, store="memory")


@pytest.fixture
async def served() -> AsyncIterator[tuple[Application, str]]:
    app = chat(CHAT_MESSAGES_PER_MINUTE="5", CHAT_ROOMS_PER_HOUR="2", CHAT_UPLOAD_BYTES_PER_HOUR="200")
    await app.start()
    try:
        yield app, app.service("http").url
    finally:
        await app.stop()


async def register(session: aiohttp.ClientSession, url: str, name: str) -> dict[str, str]:
    async with session.post(f"{url}/api/user/register", json={"name": name, "password": PASSWORD}) as reply:
        token = (await reply.json())["result"]["token"]
    return {"Authorization": f"Bearer {token}"}


async def ws_login(client: WsClient, name: str) -> dict[str, str]:
    """Register ``name`` over WebSocket (the connection is logged in); the bearer header for HTTP calls."""
    session = await client.call("user/register", {"name": name, "password": PASSWORD})
    return {"Authorization": f"Bearer {session['token']}"}


async def call(
    session: aiohttp.ClientSession, url: str, code: str, params: Any, headers: dict[str, str]
) -> tuple[int, dict[str, Any], dict[str, str]]:
    async with session.post(f"{url}/api/{code}", json=params, headers=headers) as reply:
        return reply.status, await reply.json(), dict(reply.headers)


async def test_an_integer_written_as_5_0_or_1e1_is_served_not_a_500(served: tuple[Application, str]) -> None:
    _, url = served
    async with aiohttp.ClientSession() as session:
        auth = await register(session, url, "ann")
        for raw in (b"5.0", b"1e1", b"2"):
            body = b'{"room": "general", "limit": ' + raw + b"}"
            async with session.post(
                f"{url}/api/chat/history", data=body, headers={**auth, "Content-Type": "application/json"}
            ) as reply:
                assert reply.status == 200, raw


@pytest.mark.parametrize("declared", ["IMAGE/PNG", "image/png; charset=utf-8", "Image/Png"])
async def test_an_image_type_in_another_spelling_is_stored_as_its_type(
    served: tuple[Application, str], declared: str
) -> None:
    _app, url = served
    async with aiohttp.ClientSession() as session:
        auth = await register(session, url, "bob")
        form = aiohttp.FormData()
        form.add_field("file", PNG, filename="a.png", content_type=declared)
        async with session.post(f"{url}/api/chat/upload", data=form, headers=auth) as reply:
            assert reply.status == 200
            assert (await reply.json())["result"]["type"] == "image/png"


async def test_uploads_past_the_byte_quota_are_429_with_retry_after_and_not_kept(
    served: tuple[Application, str],
) -> None:
    app, url = served
    folder: Path = app.service("attachments").folder
    async with aiohttp.ClientSession() as session:
        auth = await register(session, url, "cat")
        answers = []
        for _ in range(4):  # 72 bytes each, 200 per hour
            form = aiohttp.FormData()
            form.add_field("file", PNG, filename="a.png", content_type="image/png")
            async with session.post(f"{url}/api/chat/upload", data=form, headers=auth) as reply:
                answers.append((reply.status, reply.headers.get("Retry-After")))
    assert [status for status, _ in answers] == [200, 200, 429, 429]
    assert answers[-1][1] is not None
    assert int(answers[-1][1]) >= 1
    assert len(await asyncio.to_thread(lambda: list(folder.iterdir()))) == 2


async def test_messages_past_the_quota_are_429_with_a_retry_after_header(served: tuple[Application, str]) -> None:
    _, url = served
    async with (
        aiohttp.ClientSession() as session,
        WsClient(url.replace("http", "ws") + "/ws") as dan,
        WsClient(url.replace("http", "ws") + "/ws") as eve,
    ):
        codes = []
        # the join rule holds over HTTP too: the user's WebSocket connection is in the room
        auth = await ws_login(dan, "dan")
        await dan.call("chat/join", {"room": "general"})
        for n in range(7):
            status, envelope, headers = await call(session, url, "chat/send", {"room": "general", "text": f"{n}"}, auth)
            codes.append(status)
        assert codes == [200] * 5 + [429, 429]
        assert int(headers["Retry-After"]) >= 1
        assert envelope["error"]["details"]["retryAfter"] >= 1
        other = await ws_login(eve, "eve")
        await eve.call("chat/join", {"room": "general"})  # someone else's quota is their own
        assert (await call(session, url, "chat/send", {"room": "general", "text": "hi"}, other))[0] == 200


async def test_over_http_send_cannot_create_rooms_and_needs_text_or_an_attachment(
    served: tuple[Application, str],
) -> None:
    _, url = served
    async with aiohttp.ClientSession() as session:
        auth = await register(session, url, "fay")
        status, envelope, _ = await call(session, url, "chat/send", {"room": "brand-new", "text": "x"}, auth)
        assert (status, envelope["error"]["details"]) == (403, {"room": "brand-new", "reason": "not_joined"})
        assert (await call(session, url, "chat/rooms", {}, auth))[1]["result"]["rooms"][-1]["name"] != "brand-new"
        assert (await call(session, url, "chat/send", {"room": "general"}, auth))[0] == 400
        assert (await call(session, url, "chat/send", {"room": "general", "text": "  "}, auth))[0] == 400


async def test_rooms_a_user_creates_are_limited_per_hour(served: tuple[Application, str]) -> None:
    _, url = served
    async with WsClient(url.replace("http", "ws") + "/ws") as client:
        await client.call("user/register", {"name": "gus", "password": PASSWORD})
        for room in ("one", "two"):
            assert (await client.call("chat/join", {"room": room}))["room"] == room
        refused = await client.call_envelope("chat/join", {"room": "three"})
        assert refused["code"] == 429
        assert (await client.call("chat/join", {"room": "general"}))["room"] == "general"  # existing rooms: fine


def test_a_stranger_failing_logins_cannot_lock_a_user_out_and_spraying_is_limited() -> None:
    from examples.chat.accounts import Accounts, AccountsConfig

    accounts = Accounts(AccountsConfig.from_dict({"address_burst": 30, "account_burst": 20}))
    accounts.limit("ann", "10.0.0.2")
    accounts.logged_in("ann", "10.0.0.2")  # ann's own place
    for _ in range(10):
        accounts.limit("ann", "198.51.100.9")  # the attacker's guesses
    with pytest.raises(TooManyRequests):
        accounts.limit("ann", "198.51.100.9")
    for _ in range(5):
        accounts.limit("ann", "10.0.0.2")  # ann is not held by the attacker's failures
    for address in range(10):  # many places guessing one account: held per account, ann still gets in
        for _ in range(3):
            with contextlib.suppress(TooManyRequests):
                accounts.limit("ann", f"203.0.113.{address}")
    with pytest.raises(TooManyRequests):
        accounts.limit("ann", "203.0.113.99")
    accounts.limit("ann", "10.0.0.2")
    sprayer = "192.0.2.1"
    for n in range(30):
        accounts.limit(f"user{n}", sprayer)
    with pytest.raises(TooManyRequests):
        accounts.limit("user30", sprayer)


def test_sign_ups_are_limited_per_address() -> None:
    from examples.chat.accounts import Accounts, AccountsConfig

    accounts = Accounts(AccountsConfig.from_dict({"signups_per_hour": 3}))
    for n in range(3):
        accounts.limit(f"new{n}", "192.0.2.5", signup=True)
    with pytest.raises(TooManyRequests):
        accounts.limit("new3", "192.0.2.5", signup=True)
    accounts.limit("new3", "192.0.2.6", signup=True)
