"""Logging: JSON lines with trace id and command, one line per call, debug params redacted, pretty mode."""

from __future__ import annotations

import json
from typing import Any

import pytest

from betrue.server import Application, Context, Group
from betrue.server.observability._redact import redact
from betrue.server.testing import TestApp


def make_app(**environ: str) -> Application:
    shop = Group("shop")

    @shop.command("buy")
    async def buy(params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        ctx.logger.info("buying {}", params.get("item"))
        return {"ok": True, "token": "secret-token-value"}

    @shop.command("crash")
    async def crash(params: dict[str, Any], ctx: Context) -> None:
        raise RuntimeError("kaboom")

    @shop.command("reject", input={"type": "object", "required": ["item"]})
    async def reject(params: dict[str, Any], ctx: Context) -> None:
        return None

    return Application("shop", groups=[shop], http=False, env_file=None, environ=environ)


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


async def test_every_line_of_a_call_has_its_trace_id_and_command(capsys: pytest.CaptureFixture[str]) -> None:
    async with TestApp(make_app()) as t:
        capsys.readouterr()
        await t.call("shop/buy", {"item": "apple"}, meta={"x-trace-id": "t-1"})
    lines = [line for line in json_lines(capsys.readouterr().err) if line.get("trace_id") == "t-1"]
    assert lines[0]["message"] == "buying apple"
    assert all(line["command"] == "shop/buy" for line in lines)
    (call,) = [line for line in lines if "duration_ms" in line]
    assert call["level"] == "INFO"
    assert call["status"] == "Success"
    assert call["code"] == 200
    assert call["adapter"] == "test"
    assert call["message"].startswith("shop/buy Success ")
    assert call["time"].endswith("Z")


async def test_an_unhandled_exception_is_logged_with_its_traceback_and_an_error_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    async with TestApp(make_app()) as t:
        capsys.readouterr()
        envelope = await t.call("shop/crash", meta={"x-trace-id": "t-2"})
    assert "kaboom" not in json.dumps(envelope)
    lines = [line for line in json_lines(capsys.readouterr().err) if line.get("trace_id") == "t-2"]
    assert any("RuntimeError: kaboom" in line.get("exception", "") for line in lines)
    (call,) = [line for line in lines if "duration_ms" in line]
    assert call["level"] == "ERROR"
    assert call["code"] == 500


@pytest.mark.parametrize(
    ("environ", "logged"),
    [
        ({}, ["shop/buy", "shop/reject", "nope/x", "shop/crash"]),
        ({"LOG_CALLS": "errors"}, ["shop/reject", "nope/x", "shop/crash"]),
        ({"LOG_CALLS": "off"}, []),
        ({"LOG_LEVEL": "WARNING"}, ["shop/crash"]),
    ],
)
async def test_which_calls_get_their_line(
    capsys: pytest.CaptureFixture[str], environ: dict[str, str], logged: list[str]
) -> None:
    async with TestApp(make_app(**environ)) as t:
        capsys.readouterr()
        for code in ("shop/buy", "shop/reject", "nope/x", "shop/crash"):
            await t.call(code, {})
    lines = json_lines(capsys.readouterr().err)
    assert [line["command"] for line in lines if "code" in line] == logged


async def test_debug_level_logs_params_and_results_redacted(capsys: pytest.CaptureFixture[str]) -> None:
    async with TestApp(make_app(LOG_LEVEL="DEBUG")) as t:
        capsys.readouterr()
        await t.call("shop/buy", {"item": "x" * 500, "password": "hunter2"}, meta={"x-trace-id": "t-3"})
    text = capsys.readouterr().err
    assert "hunter2" not in text
    assert "secret-token-value" not in text
    messages = [line["message"] for line in json_lines(text) if line.get("trace_id") == "t-3"]
    params = next(message for message in messages if message.startswith("shop/buy params"))
    assert "'password': '***'" in params
    assert "(500 chars)" in params
    assert any(message.startswith("shop/buy result") and "'token': '***'" in message for message in messages)


async def test_pretty_mode_writes_readable_lines(capsys: pytest.CaptureFixture[str]) -> None:
    async with TestApp(make_app(LOG_PRETTY="true")) as t:
        capsys.readouterr()
        await t.call("shop/buy", {"item": "pear"}, meta={"x-trace-id": "abcdef123456"})
    text = capsys.readouterr().err
    assert not text.lstrip().startswith("{")
    assert "abcdef12" in text
    assert "shop/buy" in text
    assert "buying pear" in text
    assert "Success" in text


def test_redact_masks_secrets_and_cuts_large_values() -> None:
    value = {
        "user": {"name": "ann", "api_key": "k", "Authorization": "Bearer x", "author": "bob"},
        "items": list(range(100)),
        "blob": b"\x00" * 10,
        "deep": {"a": {"b": {"c": {"d": {"e": {"f": {"g": 1}}}}}}},
        "other": object(),
    }
    shown = redact(value, max_items=5)
    assert shown["user"] == {"name": "ann", "api_key": "***", "Authorization": "***", "author": "bob"}
    assert shown["items"] == [0, 1, 2, 3, 4, "… (95 more)"]
    assert shown["blob"] == "<10 bytes>"
    assert "nested too deep" in json.dumps(shown["deep"])
    assert shown["other"] == "<object>"
    many_keys = redact({f"k{i}": i for i in range(30)}, max_items=2)
    assert list(many_keys) == ["k0", "k1", "…"]
