"""The gateway over real ports: discovery of two upstreams, validation at the door, schemas, upstreams down and back."""

from __future__ import annotations

import asyncio
import socket
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from betrue.server import Application, Conflict, Context, Group, openapi_document
from betrue.server.docs import with_decoder_limits
from betrue.server.testing import TestApp

LOAD = {
    "type": "object",
    "properties": {"player": {"type": "string", "minLength": 1}},
    "required": ["player"],
    "additionalProperties": False,
}
POST = {"type": "object", "properties": {"room": {"type": "string"}, "text": {"type": "string"}}, "required": ["text"]}
POSTED = {"type": "object", "properties": {"id": {"type": "integer"}}, "required": ["id"]}


class GatewayRoomFull(Conflict):
    status = "GatewayTestRoomFull"  # unique: the registry keeps the first class of a status


def chat_app(runs: Counter[str], environ: dict[str, str] | None = None) -> Application:
    chat = Group("chat", description="Rooms and messages")

    @chat.command("post", input=POST, output=POSTED, errors=[GatewayRoomFull], description="Post a message")
    async def post(params: dict[str, Any], ctx: Context) -> dict[str, int]:
        runs["chat/post"] += 1
        if params.get("room") == "full":
            raise GatewayRoomFull("room is full", details={"room": "full", "limit": 2})
        return {"id": runs["chat/post"]}

    @chat.command("history", idempotent=True)
    async def history(params: dict[str, Any], ctx: Context) -> list[str]:
        return ["hello"]

    return Application("chat", groups=[chat], env_file=None, environ=environ or {})


def game_app(runs: Counter[str], chat_url: str) -> Application:
    game = Group("game")

    @game.command("load", input=LOAD, description="Load a player's game")
    async def load(params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        runs["game/load"] += 1
        posted = await ctx.client.chat.post({"room": "lobby", "text": f"{params['player']} joined"})
        return {"player": params["player"], "posted": posted}

    return Application("game", groups=[game], env_file=None, environ={"ROUTES": f"chat={chat_url}"})


@asynccontextmanager
async def upstreams(runs: Counter[str]) -> AsyncIterator[tuple[str, str]]:
    async with TestApp(chat_app(runs), http=True) as chat, TestApp(game_app(runs, chat.url), http=True) as game:
        yield game.url, chat.url


def gateway_app(upstreams: str, **settings: str) -> Application:
    app = Application("gateway", env_file=None, environ={"GATEWAY_UPSTREAMS": upstreams, **settings})
    app.proxy()
    return app


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def request_schema(document: dict[str, Any], path: str) -> dict[str, Any]:
    schema: dict[str, Any] = document["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]
    if "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


async def test_the_gateway_discovers_two_upstreams_and_serves_their_commands() -> None:
    runs: Counter[str] = Counter()
    async with upstreams(runs) as (game_url, chat_url):
        gateway = gateway_app(f"game={game_url},chat={chat_url}")
        async with TestApp(gateway, http=True) as door:
            reply = await door.post("game/load", {"player": "ann"})
            posted = await door.post("chat/post", {"text": "hi"})
            listed = await door.post("_app/commands", {})
            document = openapi_document(gateway)
    assert reply.status == 200
    assert reply.envelope["result"] == {"player": "ann", "posted": {"id": 1}}
    assert posted.envelope["result"] == {"id": 2}
    described = {command["code"]: command for command in listed.envelope["result"]["commands"]}
    assert set(described) == {"game/load", "chat/post", "chat/history"}
    assert described["game/load"]["input"] == LOAD
    assert described["chat/post"]["output"] == POSTED
    assert described["chat/post"]["errors"] == ["GatewayTestRoomFull"]
    assert described["chat/history"]["idempotent"] is True
    assert request_schema(document, "/api/game/load") == with_decoder_limits(LOAD)
    assert request_schema(document, "/api/chat/post") == with_decoder_limits(POST)
    assert document["paths"]["/api/chat/post"]["post"]["summary"] == "Post a message"


async def test_the_gateway_validates_input_itself() -> None:
    runs: Counter[str] = Counter()
    async with upstreams(runs) as (game_url, chat_url):
        gateway = gateway_app(f"{game_url},{chat_url}")
        async with TestApp(gateway, http=True) as door:
            reply = await door.post("game/load", {"player": "", "cheat": True})
    assert reply.status == 400
    assert reply.envelope["status"] == "ValidationError"
    assert {issue["path"] for issue in reply.envelope["error"]["details"]} == {"/player", "/cheat"}
    assert runs["game/load"] == 0  # the bad request stopped at the gateway


async def test_errors_keep_their_class_and_details_through_the_gateway() -> None:
    runs: Counter[str] = Counter()
    async with upstreams(runs) as (_game_url, chat_url), TestApp(gateway_app(f"chat={chat_url}"), http=True) as door:
        reply = await door.post("chat/post", {"room": "full", "text": "hi"})
        missing = await door.post("game/load", {"player": "ann"})
    assert reply.status == 409
    assert reply.envelope["status"] == "GatewayTestRoomFull"
    assert reply.envelope["error"] == {"message": "room is full", "details": {"room": "full", "limit": 2}}
    assert missing.envelope["status"] == "NotFound"  # game was not proxied


async def test_an_upstream_down_at_start_answers_503_until_it_is_up() -> None:
    runs: Counter[str] = Counter()
    port = free_port()
    gateway = gateway_app(f"chat=http://127.0.0.1:{port}", GATEWAY_RETRY_INTERVAL="0.05")
    async with TestApp(gateway, http=True) as door:
        down = await door.post("chat/post", {"text": "hi"})
        assert down.status == 503
        assert down.envelope["error"]["details"]["reason"] == "upstream_down"
        chat = chat_app(runs, {"HTTP_PORT": str(port)})
        await chat.start()
        try:
            assert gateway.gateway is not None
            watcher = gateway.gateway
            async with asyncio.timeout(5), watcher.discovered:
                await watcher.discovered.wait_for(lambda: "chat/post" in gateway.commands)
            reply = await door.post("chat/post", {"text": "hi"})
            listed = await door.post("_app/commands", {})
        finally:
            await chat.stop()
        gone = await door.post("chat/post", {"text": "again"})
    assert reply.status == 200
    assert "chat/post" in {command["code"] for command in listed.envelope["result"]["commands"]}
    assert gone.status == 503  # known commands of an upstream that went away answer 503 as well


async def test_a_listed_proxy_serves_only_the_named_commands_with_their_schemas() -> None:
    runs: Counter[str] = Counter()
    async with upstreams(runs) as (_, chat_url):
        gateway = Application("gateway", env_file=None)
        gateway.proxy("chat", ["post"], transport=chat_url)
        async with TestApp(gateway, http=True) as door:
            bad = await door.post("chat/post", {"room": 1})
            history = await door.post("chat/history", {})
    assert gateway.commands["chat/post"].input == POST
    assert bad.status == 400
    assert history.status == 404


async def test_a_listed_proxy_to_an_upstream_that_is_down_answers_503() -> None:
    gateway = Application("gateway", env_file=None)
    gateway.proxy("game", ["load"], transport=f"http://127.0.0.1:{free_port()}")
    async with TestApp(gateway, http=True) as door:
        reply = await door.post("game/load", {"player": "ann"})
    assert reply.status == 503


async def test_rediscovery_adds_and_removes_commands() -> None:
    runs: Counter[str] = Counter()
    chat = chat_app(runs)
    async with TestApp(chat, http=True) as upstream:
        gateway = gateway_app(upstream.url, GATEWAY_DISCOVERY_INTERVAL="0.05", GATEWAY_RETRY_INTERVAL="0.02")
        async with TestApp(gateway, http=True) as door:
            extra = Group("chat")

            @extra.command("rooms")
            async def rooms(params: dict[str, Any], ctx: Context) -> list[str]:
                return ["lobby"]

            chat.add_command(extra.commands[0])
            chat.remove_command("chat/history")
            assert gateway.gateway is not None
            watcher = gateway.gateway
            async with asyncio.timeout(5), watcher.discovered:
                await watcher.discovered.wait_for(
                    lambda: "chat/rooms" in gateway.commands and "chat/history" not in gateway.commands
                )
            reply = await door.post("chat/rooms", {})
    assert reply.envelope["result"] == ["lobby"]


async def test_commands_of_the_gateway_itself_win_over_an_upstream() -> None:
    runs: Counter[str] = Counter()
    own = Group("chat")

    @own.command("history")
    async def history(params: dict[str, Any], ctx: Context) -> list[str]:
        return ["from the gateway"]

    async with upstreams(runs) as (_, chat_url):
        gateway = Application("gateway", groups=[own], env_file=None, environ={"GATEWAY_UPSTREAMS": chat_url})
        gateway.proxy()
        async with TestApp(gateway, http=True) as door:
            mine = await door.post("chat/history", {})
            theirs = await door.post("chat/post", {"text": "hi"})
    assert mine.envelope["result"] == ["from the gateway"]
    assert theirs.status == 200


def test_a_proxy_needs_a_transport() -> None:
    with pytest.raises(ValueError, match="needs transport"):
        Application("gateway", env_file=None).proxy("game", ["load"])


def test_a_gateway_app_runs_again_on_a_new_event_loop() -> None:
    runs: Counter[str] = Counter()
    gateway = Application("gateway", env_file=None, environ={"CLIENT_BULKHEAD": "4"})

    async def once() -> int:
        async with TestApp(chat_app(runs), http=True) as chat:
            gateway.loader.environ = {"CLIENT_BULKHEAD": "4", "GATEWAY_UPSTREAMS": chat.url}
            async with TestApp(gateway, http=True) as door:
                return (await door.post("chat/post", {"text": "hi"})).status

    gateway.proxy()
    assert asyncio.run(once()) == 200
    assert asyncio.run(once()) == 200  # breakers, bulkheads, sessions and conditions of the first loop are gone
