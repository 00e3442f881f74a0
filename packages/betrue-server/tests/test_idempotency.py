"""Idempotency: the call, the group's policy and the command decide; a target is asked only when needed."""

from __future__ import annotations

import socket
import time
from typing import Any

from betrue.server import Application, Call, Context, Group, HttpTransport, Policy
from betrue.server.client._idempotency import Idempotency
from betrue.server.testing import TestApp


def reader_app() -> Application:
    group = Group("books")

    @group.command("read", idempotent=True)
    async def read(params: dict[str, Any], ctx: Context) -> None:
        return None

    @group.command("write")
    async def write(params: dict[str, Any], ctx: Context) -> None:
        return None

    return Application("books", groups=[group], env_file=None)


def test_the_call_then_the_policy_then_the_command_decide() -> None:
    app = reader_app()
    knowledge = Idempotency(app.commands)
    assert knowledge.of("books/read", Policy(), None) is True
    assert knowledge.of("books/write", Policy(), None) is False
    assert knowledge.of("books/write", Policy(), True) is True
    assert knowledge.of("books/read", Policy(idempotent=False), None) is False
    assert knowledge.of("elsewhere/thing", Policy(), None) is None  # unknown: ask the target if it fails


async def test_a_target_is_asked_once_and_its_answer_kept() -> None:
    async with TestApp(reader_app(), http=True) as books:
        transport = HttpTransport(books.url)
        knowledge = Idempotency({})
        call = Call("books/read", {}, {}, time.time() + 5, transport, Policy())
        try:
            assert await knowledge.learn(call) is True
            assert knowledge.known == {"books/read": True, "books/write": False}
            call.code = "books/write"
            assert await knowledge.learn(call) is False
        finally:
            await transport.close()


async def test_an_unreachable_target_teaches_nothing() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    transport = HttpTransport(f"http://127.0.0.1:{port}")
    try:
        call = Call("books/read", {}, {}, time.time() + 5, transport, Policy())
        assert await Idempotency({}).learn(call) is False
    finally:
        await transport.close()
