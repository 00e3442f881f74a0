"""The client: routing by group from config, local and HTTP transports giving the same results, what travels."""

from __future__ import annotations

import datetime
import time
from typing import Any

import pytest

from betrue.config import ConfigError
from betrue.server import Application, Context, Group, Response, ValidationError
from betrue.server.errors import InternalError
from betrue.server.testing import TestApp

SEND = {
    "type": "object",
    "properties": {"room": {"type": "string", "minLength": 1}, "text": {"type": "string"}},
    "required": ["room", "text"],
    "additionalProperties": False,
}
MESSAGE = {
    "type": "object",
    "properties": {"id": {"type": "integer"}, "room": {"type": "string"}, "text": {"type": "string"}},
    "required": ["id", "room", "text"],
}


def chat_group(seen: list[dict[str, Any]]) -> Group:
    chat = Group("chat")

    @chat.command("send", input=SEND, output=MESSAGE)
    async def send(params: dict[str, Any], ctx: Context) -> Response:
        seen.append({"adapter": ctx.adapter, "trace": ctx.trace_id, "meta": dict(ctx.meta), "deadline": ctx.deadline})
        return Response({"id": len(seen), **params}, code=201, status="Created")

    @chat.command("shapes", idempotent=True)
    async def shapes(params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        # Values JSON carries differently from Python: the local transport must show the remote shape.
        return {
            "when": datetime.datetime(2024, 5, 1, 12, 30, tzinfo=datetime.UTC),
            "pair": (1, 2),
            "tags": {"a"},
            "nested": {"x": [None, True, 1.5, "é"]},
            "echo": params,
        }

    @chat.command("broken", output=MESSAGE)
    async def broken(params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        return {"id": "not a number"}

    @chat.command("opaque")
    async def opaque(params: dict[str, Any], ctx: Context) -> Any:
        return object()

    return chat


def game_group() -> Group:
    game = Group("game")

    @game.command("load")
    async def load(params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        posted = await ctx.client.chat.send({"room": params["room"], "text": "joined"})  # the attribute form
        ping = await ctx.client.call("game/ping", {})
        return {"posted": posted, "ping": ping}

    @game.command("ping")
    async def ping(params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        return {"adapter": ctx.adapter}

    return game


async def test_routes_send_a_group_over_http_and_keep_the_others_local() -> None:
    seen: list[dict[str, Any]] = []
    chat = Application("chat", groups=[chat_group(seen)], env_file=None)
    async with TestApp(chat, http=True) as upstream:
        game = Application("game", groups=[game_group()], env_file=None, environ={"ROUTES": f"chat={upstream.url}"})
        async with TestApp(game) as caller:
            result = await caller.result("game/load", {"room": "r1"})
    assert result == {"posted": {"id": 1, "room": "r1", "text": "joined"}, "ping": {"adapter": "local"}}
    assert seen[0]["adapter"] == "http"


async def test_the_same_command_code_gives_equal_results_locally_and_over_http() -> None:
    calls: list[tuple[str, Any]] = [
        ("chat/send", {"room": "r1", "text": "hi"}),
        ("chat/shapes", {"list": [1, 2, 3], "unicode": "日本", "big": 2**53}),
        ("chat/send", {"room": "", "text": 1}),
        ("chat/send", {"room": "r1", "text": "x", "extra": True}),
        ("chat/broken", {}),
        ("chat/opaque", {}),
        ("chat/missing", {}),
    ]
    monolith = Application("monolith", groups=[chat_group([]), game_group()], env_file=None)
    async with TestApp(monolith):
        local_answers = [await _answer(monolith, code, params) for code, params in calls]
    chat = Application("chat", groups=[chat_group([])], env_file=None)
    async with TestApp(chat, http=True) as upstream:
        split = Application("game", groups=[game_group()], env_file=None, environ={"ROUTES": f"chat={upstream.url}"})
        async with TestApp(split):
            remote_answers = [await _answer(split, code, params) for code, params in calls]
    assert local_answers == remote_answers
    assert local_answers[0] == ("result", {"id": 1, "room": "r1", "text": "hi"})
    assert local_answers[1][1]["when"] == "2024-05-01T12:30:00+00:00"
    assert local_answers[1][1]["pair"] == [1, 2]
    assert local_answers[2][0] == "ValidationError"
    assert local_answers[4][0] == local_answers[5][0] == "InternalError"
    assert local_answers[6][0] == "NotFound"


async def _answer(app: Application, code: str, params: Any) -> tuple[str, Any]:
    try:
        return "result", await app.client.call(code, params)
    except Exception as error:
        details = getattr(error, "details", None)
        return type(error).__name__, details if type(error) is not InternalError else None


async def test_local_calls_reject_params_json_cannot_carry() -> None:
    app = Application("monolith", groups=[chat_group([])], env_file=None)
    async with TestApp(app):
        with pytest.raises(ValidationError, match="not JSON"):
            await app.client.call("chat/shapes", {"thing": object()})


async def test_local_json_round_trip_can_be_switched_off() -> None:
    app = Application("monolith", groups=[chat_group([])], env_file=None, environ={"CLIENT_LOCAL_JSON": "false"})
    async with TestApp(app):
        result = await app.client.call("chat/shapes", {})
    assert result["pair"] == (1, 2)  # the objects themselves: faster, but not what a remote caller sees


async def test_trace_credentials_and_deadline_travel_with_a_call() -> None:
    seen: list[dict[str, Any]] = []
    chat = Application("chat", groups=[chat_group(seen)], env_file=None)
    async with TestApp(chat, http=True) as upstream:
        environ = {"ROUTES": f"chat={upstream.url}", "CLIENT_TIMEOUT": "5"}
        game = Application("game", groups=[game_group()], env_file=None, environ=environ)
        game.client.meta_hooks.append(lambda ctx, meta: meta.update({"x-caller": game.name}))
        async with TestApp(game, http=True) as caller:
            started = time.time()
            headers = {"x-trace-id": "trace-42", "Authorization": "Bearer t0ken", "Cookie": "secret=1"}
            reply = await caller.post("game/load", {"room": "r1"}, headers=headers)
    assert reply.status == 200
    call = seen[0]
    assert call["trace"] == "trace-42"
    assert call["meta"]["authorization"] == "Bearer t0ken"
    assert "cookie" not in call["meta"]  # only CLIENT_FORWARD_HEADERS pass
    assert call["meta"]["x-caller"] == "game"
    assert started + 4 < call["deadline"] <= time.time() + 5


async def test_a_shorter_caller_deadline_wins_over_the_policy_timeout() -> None:
    seen: list[dict[str, Any]] = []
    chat = Application("chat", groups=[chat_group(seen)], env_file=None)
    async with TestApp(chat, http=True) as upstream:
        game = Application("game", groups=[game_group()], env_file=None, environ={"ROUTES": f"chat={upstream.url}"})
        async with TestApp(game, http=True) as caller:
            reply = await caller.post("game/load", {"room": "r1"}, headers={"x-timeout-ms": "1500"})
    assert reply.status == 200
    assert seen[0]["deadline"] - time.time() < 1.5


async def test_code_routes_apply_where_routes_config_is_silent() -> None:
    seen: list[dict[str, Any]] = []
    chat = Application("chat", groups=[chat_group(seen)], env_file=None)
    async with TestApp(chat, http=True) as upstream:
        game = Application("game", groups=[game_group()], env_file=None)
        game.client.route("chat", upstream.url)
        async with TestApp(game) as caller:
            await caller.result("game/load", {"room": "r1"})
        groups = [game_group(), chat_group([])]
        overridden = Application("game", groups=groups, env_file=None, environ={"ROUTES": "chat=local"})
        overridden.client.route("chat", upstream.url)
        async with TestApp(overridden) as caller:
            await caller.result("game/load", {"room": "r1"})
    assert [call["adapter"] for call in seen] == ["http"]  # the second app's ROUTES kept chat local


async def test_attribute_form_builds_codes_of_any_depth() -> None:
    levels = Group("game")

    @levels.command("levels/get")
    async def get(params: dict[str, Any], ctx: Context) -> str:
        return ctx.code

    app = Application("game", groups=[levels], env_file=None)
    async with TestApp(app):
        assert await app.client.game.levels.get({}) == "game/levels/get"


async def test_bad_routes_are_config_errors_and_unknown_schemes_fail_at_start() -> None:
    with pytest.raises(ConfigError, match="ROUTES"):
        await Application("a", env_file=None, environ={"ROUTES": "game=nowhere"}).start(serve=False)
    app = Application("b", env_file=None, environ={"ROUTES": "game=amqp://127.0.0.1:5672"})
    with pytest.raises(ValueError, match=r"no transport for 'amqp://127\.0\.0\.1:5672'"):
        await app.start(serve=False)
