"""The gateway as a port from @be-true meets it: renamed codes, and the same validation details as the upstream."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict, Field

from betrue.server import Application, Context, Group, ValidationError
from betrue.server.testing import TestApp
from betrue.server.validation import compile_schema


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


class Post(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(max_length=5)
    count: int = Field(ge=1)
    tags: list[str] = []


@pytest.mark.parametrize(
    "params",
    [
        {"text": "too long", "count": 0, "extra": 1},
        {"text": 3, "count": "x", "tags": [1]},
        {"count": 1},
    ],
)
def test_pydantic_and_both_json_schema_engines_agree_on_keywords_and_pointers(params: dict[str, Any]) -> None:
    found = []
    as_json_schema = Post.model_json_schema()  # what a gateway checks a proxied pydantic command against
    for schema, engine in [(Post, "jsonschema-rs"), (as_json_schema, "jsonschema-rs"), (as_json_schema, "jsonschema")]:
        check = compile_schema(schema, where="blog/post", engine=engine)  # type: ignore[arg-type]
        with pytest.raises(ValidationError) as caught:
            check.validate(params)
        found.append([(detail["path"], detail["keyword"]) for detail in caught.value.details])
    assert found[0] == found[1] == found[2]
