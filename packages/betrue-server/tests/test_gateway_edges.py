"""The gateway as a port from @be-true meets it: renamed codes, and the same validation details as the upstream."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from betrue.server import Application, Context, Group
from betrue.server.testing import TestApp


class Say(BaseModel):
    text: str
    room: str = "lobby"


def chat_app() -> Application:
    chat = Group("chat")

    @chat.command("say", input=Say)
    async def say(params: Say, ctx: Context) -> dict[str, str]:
        return {"said": params.text}

    @chat.command("shout", input={"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]})
    async def shout(params: dict[str, Any], ctx: Context) -> str:
        return str(params["text"]).upper()

    return Application("chat", groups=[chat], env_file=None, environ={})


def game_app() -> Application:
    game = Group("game")

    @game.command("load", input={"type": "object"})
    async def load(params: dict[str, Any], ctx: Context) -> str:
        return "loaded"

    return Application("game", groups=[game], env_file=None, environ={})


@pytest.mark.parametrize("engine", ["jsonschema-rs", "jsonschema"])
@pytest.mark.parametrize("code", ["chat/say", "chat/shout"])
async def test_a_missing_field_has_the_same_details_locally_and_through_the_gateway(engine: str, code: str) -> None:
    async with TestApp(chat_app(), http=True) as chat:
        local = await chat.call(code, {"room": "r1"})
        gateway = Application("gateway", env_file=None, environ={"VALIDATION_ENGINE": engine})
        gateway.proxy("chat", transport=chat.url)
        async with TestApp(gateway, http=True) as front:
            through = await front.post(code, {"room": "r1"})
    missing = {"path": "/text", "message": '"text" is a required property', "keyword": "required"}
    assert local["error"]["details"] == [missing]
    assert through.status == 400
    assert through.envelope["error"]["details"] == local["error"]["details"]


async def test_an_upstream_command_is_published_under_another_code() -> None:
    async with TestApp(game_app(), http=True) as game:
        gateway = Application("gateway", env_file=None, environ={})
        gateway.proxy("game", ["load"], transport=game.url, rename={"game/load": "load"})
        async with TestApp(gateway, http=True) as front:
            assert (await front.post("load", {})).envelope["result"] == "loaded"
            assert (await front.post("game/load", {})).status == 404
            listed = {c["code"] for c in (await front.result("_app/commands"))["commands"]}
    assert "load" in listed
    assert "game/load" not in listed
