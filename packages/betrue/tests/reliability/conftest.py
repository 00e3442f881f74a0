"""The reliability suite: every example app attacked from outside, the way an attacker would (issue 17).

The short tier runs in ``make test``; cases marked ``slow`` (more inputs, longer loads) run in
``make test-slow``; ``make test-reliability`` runs both and prints the table of tools/reliability_table.py.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from betrue.server import Application
from betrue.server.testing import FaultProxy

from .attack import TALLY

PASSWORD = "correct horse battery"
FAST_HASHES = {"CHAT_ARGON2_MEMORY": "1024", "CHAT_ARGON2_TIME": "1"}
GENEROUS = {  # the attacks measure answers, not quotas: the chat's limits are tested on their own
    "CHAT_MESSAGES_PER_MINUTE": "100000",
    "CHAT_ROOMS_PER_HOUR": "100000",
    "CHAT_ADDRESS_BURST": "100000",
    "CHAT_SIGNUPS_PER_HOUR": "100000",
    "CHAT_LOGIN_BURST": "100000",
}


@pytest.fixture(scope="session", autouse=True)
def reliability_report() -> Iterator[None]:
    yield
    target = os.environ.get("BETRUE_RELIABILITY_REPORT")
    if target:
        TALLY.write(Path(target))


@dataclass
class Served:
    """A running app: where it listens and a bearer token of a registered user."""

    name: str
    app: Application
    url: str
    host: str
    port: int
    token: str = ""

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}


@asynccontextmanager
async def serve_chat(database: str, **env: str) -> AsyncIterator[Served]:
    """The chat example on a free port and its own fresh ``database``, with one registered user (``ann``);
    ``env`` adds settings."""
    from examples.chat.app import create_app

    environ = {"HTTP_PORT": "0", "LOG_LEVEL": "ERROR", "DATABASE_URL": database, **FAST_HASHES, **GENEROUS, **env}
    app = create_app(environ=environ, env_file=None)
    await app.start()
    http = app.service("http")
    served = Served("chat", app, http.url, "127.0.0.1", http.port)
    try:
        async with (
            aiohttp.ClientSession() as session,
            session.post(f"{served.url}/api/user/register", json={"name": "ann", "password": PASSWORD}) as reply,
        ):
            served.token = (await reply.json())["result"]["token"]
        yield served
    finally:
        await app.stop()


@pytest.fixture
async def chat(chat_database: str) -> AsyncIterator[Served]:
    """The chat example on a free port and a fresh database, with one registered user (``ann``)."""
    async with serve_chat(chat_database) as served:
        yield served


@dataclass
class GatewayStack:
    """The gateway example in one process: game and chat upstreams, each behind its own FaultProxy."""

    gateway: Served
    chat_proxy: FaultProxy
    game_proxy: FaultProxy


@pytest.fixture
async def gateway() -> AsyncIterator[GatewayStack]:
    from examples.gateway.chat import make_app as make_chat
    from examples.gateway.game import make_app as make_game
    from examples.gateway.gateway import make_app as make_gateway

    quiet = {"HTTP_PORT": "0", "LOG_LEVEL": "ERROR", "CLIENT_TIMEOUT": "2"}
    chat_app = make_chat(environ=quiet, env_file=None)
    await chat_app.start()
    chat_proxy = await FaultProxy("127.0.0.1", chat_app.service("http").port).start()
    game_app = make_game(environ={**quiet, "ROUTES": f"chat={chat_proxy.url}"}, env_file=None)
    await game_app.start()
    game_proxy = await FaultProxy("127.0.0.1", game_app.service("http").port).start()
    upstreams = f"game={game_proxy.url},chat={chat_proxy.url}"
    gateway_app = make_gateway(environ={**quiet, "GATEWAY_UPSTREAMS": upstreams}, env_file=None)
    await gateway_app.start()
    http = gateway_app.service("http")
    try:
        yield GatewayStack(Served("gateway", gateway_app, http.url, "127.0.0.1", http.port), chat_proxy, game_proxy)
    finally:
        for stop in (gateway_app.stop, game_proxy.stop, game_app.stop, chat_proxy.stop, chat_app.stop):
            await stop()
