"""The chat's PostgreSQL store layer on a fresh chat database: rooms, memberships, history pages, accounts, images."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from betrue.postgres import Database, DatabaseConfig
from betrue.server import NotFound
from betrue.server.testing import TestApp

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
async def db(chat_database: str) -> AsyncIterator[Database]:
    database = Database(DatabaseConfig.from_dict({"url": chat_database}))
    await database.start()
    try:
        yield database
    finally:
        await database.stop()


async def test_rooms_memberships_and_history_pages(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(ROOT))
    from examples.chat.postgres import PostgresChatStore
    from examples.chat.store import ChatConfig

    store = PostgresChatStore(ChatConfig.from_dict({"rooms": ["general", "random"]}), db=db)
    await store.start()
    await store.start()  # a second start (a second instance) finds the rooms there
    assert await store.rooms() == ["general", "random"]
    assert await store.add_room("games") is True
    assert await store.add_room("games") is False
    await store.add_member("games", "bob")
    await store.add_member("games", "ann")
    await store.add_member("games", "ann")
    assert await store.members("games") == ["ann", "bob"]
    sent = [await store.add_message("games", "ann", f"message {n}") for n in range(5)]
    assert [m["id"] for m in sent] == sorted(m["id"] for m in sent)
    assert sent[0]["at"].endswith("+00:00")
    last_two = await store.history("games", limit=2)
    assert [m["text"] for m in last_two] == ["message 3", "message 4"]
    older = await store.history("games", limit=2, before=last_two[0]["id"])
    assert [m["text"] for m in older] == ["message 1", "message 2"]
    assert await store.history("games", limit=0) == []
    assert await store.history("nowhere") == []
    assert await store.add_message("new-room", "ann", "makes the room") is not None
    assert "new-room" in await store.rooms()


async def test_accounts_are_case_insensitive_and_unique(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(ROOT))
    from examples.chat.accounts import AccountsConfig
    from examples.chat.postgres import PostgresAccounts

    accounts = PostgresAccounts(AccountsConfig.from_dict({"argon2_memory": 1024, "argon2_time": 1}), db=db)
    assert await accounts.insert("Ann", "ann", "hash-1") is True
    assert await accounts.insert("ANN", "ann", "hash-2") is False
    assert await accounts.find("ann") == ("Ann", "hash-1")
    assert await accounts.find("bob") is None


async def test_memory_store_app_needs_no_database(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(ROOT))
    from examples.chat.app import create_app

    environ = {"LOG_LEVEL": "WARNING", "CHAT_ARGON2_MEMORY": "1024", "CHAT_ARGON2_TIME": "1"}
    app = create_app(environ=environ, env_file=None, store="memory")
    assert "db" not in app.container.specs
    async with TestApp(app) as chat:
        session = await chat.result("user/register", {"name": "ann", "password": "long enough"})
        assert session["user"] == "ann"
        with pytest.raises(NotFound):
            await chat.service("attachments").owned("0" * 32, "ann")


async def test_history_with_an_id_beyond_bigint_is_a_400_not_a_500(
    monkeypatch: pytest.MonkeyPatch, chat_database: str
) -> None:
    monkeypatch.syspath_prepend(str(ROOT))
    from examples.chat.app import create_app

    environ = {"LOG_LEVEL": "WARNING", "CHAT_ARGON2_MEMORY": "1024", "CHAT_ARGON2_TIME": "1"}
    app = create_app(environ={**environ, "DATABASE_URL": chat_database}, env_file=None)
    async with TestApp(app, http=True) as chat:
        session = await chat.post("user/register", {"name": "ann", "password": "long enough"})
        headers = {"Authorization": f"Bearer {session.envelope['result']['token']}"}
        for before in (2**53, 2**63, -(2**63) - 1, 10**30):
            body = json.dumps({"room": "general", "before": before}).encode()  # past what orjson can even write
            reply = await chat.post("chat/history", data=body, headers=headers)
            assert reply.status == 400, reply.envelope
        # the largest id a browser's number holds exactly (the schema's maximum), well within bigint
        fine = await chat.post("chat/history", {"room": "general", "before": 2**53 - 1}, headers=headers)
        assert (fine.status, fine.envelope["result"]["messages"]) == (200, [])
