"""The chat's behaviour in both shapes: one process, and 2 gateways + 2 chat instances over NATS and PostgreSQL.

In the cluster, the two users are on different gateways: every message and presence change crosses NATS.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator

import aiohttp
import pytest

from betrue.ws import WsClient
from examples.chat.shapes import Shape, environment, running

NATS_URL = os.environ.get("BETRUE_TEST_NATS_URL", "nats://127.0.0.1:4222")
PASSWORD = "correct horse battery"


@pytest.fixture(params=["monolith", "cluster"])
async def shape(request: pytest.FixtureRequest, chat_database: str) -> AsyncIterator[Shape]:
    """The chat as ``make run`` starts it, then as ``make run-cluster`` does (in this process, own prefix)."""
    if request.param == "cluster":
        await _need_nats()
    async with running(request.param, environment(chat_database, NATS_URL)) as started:
        yield started


async def _need_nats() -> None:
    import nats

    try:
        connection = await nats.connect(NATS_URL, connect_timeout=2, max_reconnect_attempts=0, allow_reconnect=False)
    except Exception as error:
        pytest.skip(f"NATS at {NATS_URL} does not answer ({error}): run `python tools/services.py ensure`")
    await connection.close()


async def _user(url: str, name: str, *, register: bool = True) -> WsClient:
    client = WsClient(url + "/ws")
    await client.connect()
    await client.call("user/register" if register else "user/login", {"name": name, "password": PASSWORD})
    return client


async def _presence_of(client: WsClient, user: str) -> dict[str, object]:
    """The next presence change about ``user`` (one's own arrival may or may not be pushed to oneself)."""
    for _ in range(10):
        event = await client.next_event("chat.presence", timeout=10)
        if event["data"]["user"] == user:
            return dict(event["data"])
    raise AssertionError(f"no presence change of {user}")


async def test_two_users_on_different_gateways_talk_and_see_each_other(shape: Shape) -> None:
    ann = await _user(shape.urls[0], "ann")
    bob = await _user(shape.urls[-1], "bob")
    try:
        assert (await ann.call("chat/join", {"room": "general"}))["users"] == ["ann"]
        assert (await bob.call("chat/join", {"room": "general"}))["users"] == ["ann", "bob"]
        came = await _presence_of(ann, "bob")
        assert came == {"room": "general", "user": "bob", "online": True, "users": ["ann", "bob"]}
        sent = await ann.call("chat/send", {"room": "general", "text": "hello bob"})
        pushed = await bob.next_event("chat.message", timeout=10)
        assert pushed["data"] == sent
        answer = await bob.call("chat/send", {"room": "general", "text": "hi ann"})
        mine = await ann.next_event("chat.message", timeout=10)  # a sender gets their own message pushed too
        assert (mine["data"], (await ann.next_event("chat.message", timeout=10))["data"]) == (sent, answer)
        history = await bob.call("chat/history", {"room": "general"})
        assert [message["text"] for message in history["messages"]] == ["hello bob", "hi ann"]
        rooms = {room["name"]: room["online"] for room in (await ann.call("chat/rooms", {}))["rooms"]}
        assert rooms["general"] == 2
    finally:
        await ann.close()
        await bob.close()


async def test_a_user_is_online_while_any_of_their_connections_is(shape: Shape) -> None:
    ann = await _user(shape.urls[0], "ann")
    bob_here = await _user(shape.urls[0], "bob")
    bob_there = await _user(shape.urls[-1], "bob", register=False)
    try:
        await ann.call("chat/join", {"room": "general"})
        await bob_here.call("chat/join", {"room": "general"})
        await bob_there.call("chat/join", {"room": "general"})
        assert (await _presence_of(ann, "bob"))["online"] is True
        await bob_here.close()  # one tab closed: bob is still there through the other
        await ann.call("chat/send", {"room": "general", "text": "still here?"})
        assert (await bob_there.next_event("chat.message", timeout=10))["data"]["text"] == "still here?"
        await bob_there.call("chat/leave", {"room": "general"})
        went = await _presence_of(ann, "bob")  # his next change is his last connection leaving
        assert went == {"room": "general", "user": "bob", "online": False, "users": ["ann"]}
        with pytest.raises(Exception, match="Join general"):
            await bob_there.call("chat/send", {"room": "general", "text": "left already"})
    finally:
        for client in (ann, bob_here, bob_there):
            await client.close()


async def test_writing_needs_the_room_joined_on_every_transport(shape: Shape) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.post(shape.urls[-1] + "/api/user/register", json={"name": "ann", "password": PASSWORD}) as r:
            token = (await r.json())["result"]["token"]
        headers = {"Authorization": f"Bearer {token}"}
        message = {"room": "general", "text": "not joined"}
        async with http.post(shape.urls[0] + "/api/chat/send", json=message, headers=headers) as reply:
            refused = await reply.json()
        assert (reply.status, refused["error"]["details"]) == (403, {"room": "general", "reason": "not_joined"})
        tab = await _user(shape.urls[-1], "ann", register=False)
        try:
            await tab.call("chat/join", {"room": "general"})  # her tab on the other gateway is in the room
            async with http.post(shape.urls[0] + "/api/chat/send", json=message, headers=headers) as reply:
                assert reply.status == 200, await reply.text()
        finally:
            await tab.close()


@pytest.mark.parametrize("shape", ["cluster"], indirect=True)
async def test_the_users_of_a_silent_gateway_go_offline(shape: Shape) -> None:
    """A gateway that stops beating (dead) has its users offline within CHAT_GATEWAY_TIMEOUT + the sweep."""
    ann = await _user(shape.urls[0], "ann")
    bob = await _user(shape.urls[1], "bob")
    try:
        await ann.call("chat/join", {"room": "general"})
        await bob.call("chat/join", {"room": "general"})
        await _presence_of(ann, "bob")
        await shape.gateways[1].service("heartbeat").stop()  # as if its process were gone: no more heartbeats
        went = await _presence_of(ann, "bob")  # within timeout 2 s + sweep 0.5 s here
        assert went == {"room": "general", "user": "bob", "online": False, "users": ["ann"]}
    finally:
        await ann.close()
        await bob.close()


@pytest.mark.parametrize("shape", ["cluster"], indirect=True)
async def test_calls_go_on_when_a_chat_instance_stops_mid_conversation(shape: Shape) -> None:
    ann = await _user(shape.urls[0], "ann")
    bob = await _user(shape.urls[1], "bob")
    try:
        await ann.call("chat/join", {"room": "general"})
        await bob.call("chat/join", {"room": "general"})
        texts = [f"message {number}" for number in range(20)]
        for number, text in enumerate(texts):
            if number == 10:
                await shape.services[0].stop()  # one of the two instances goes away mid-conversation
            await ann.call("chat/send", {"room": "general", "text": text})
        received = [(await bob.next_event("chat.message", timeout=10))["data"]["text"] for _ in texts]
        assert received == texts
        history = await bob.call("chat/history", {"room": "general"})
        assert [message["text"] for message in history["messages"]] == texts
    finally:
        await ann.close()
        await bob.close()
        await asyncio.sleep(0)
