"""examples/hello, the app `make run` serves: its commands work, over the test helper and over HTTP."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from betrue.server.testing import TestApp, http_client

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def hello(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    monkeypatch.syspath_prepend(str(ROOT))
    module = importlib.import_module("examples.hello.app")
    yield module
    sys.modules.pop("examples.hello.app", None)


async def test_greet_and_count(hello: ModuleType) -> None:
    async with TestApp(hello.app, env={"GREETING": "Hi"}) as t:
        assert await t.result("hello/greet", {"name": "Ann"}) == {"text": "Hi, Ann!"}
        assert await t.result("hello/greet", {"name": "Ann"}) == {"text": "Hi, Ann!"}
        assert await t.result("hello/count", {"name": "Ann"}) == {"count": 2}
        missing = await t.call("hello/count", {"name": "Bob"})
        assert missing["code"] == 404
        assert missing["error"]["details"] == {"name": "Bob"}


async def test_over_http(hello: ModuleType) -> None:
    async with http_client(hello.app) as client:
        reply = await client.post("hello/greet", {})
        assert reply.status == 200
        assert reply.envelope["result"] == {"text": "Hello, world!"}
        assert (await client.post("hello/greet", {"name": ""})).status == 400
