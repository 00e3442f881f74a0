"""The pipeline: composition order, the error boundary, and output validation modes."""

from __future__ import annotations

from typing import Any

import pytest

from betrue.server import Application, CallNext, Context, Forbidden, Group, Response
from betrue.server._pipeline import compose
from betrue.server.testing import TestApp


async def test_compose_runs_outermost_first() -> None:
    seen: list[str] = []

    def stage(name: str) -> Any:
        async def middleware(ctx: Any, params: Any, call_next: CallNext) -> Response:
            seen.append(name)
            return await call_next(ctx, [*params, name])

        return middleware

    async def innermost(ctx: Any, params: Any) -> Response:
        return Response(params)

    call = compose([stage("a"), stage("b"), stage("c")], innermost)
    assert (await call(None, [])).result == ["a", "b", "c"]  # type: ignore[arg-type]
    assert seen == ["a", "b", "c"]


def make_app(mode: str) -> Application:
    shop = Group("shop")

    @shop.command("item", output={"type": "object", "required": ["id"]})
    async def item(params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        return {"name": "no id"}

    @shop.command("forbidden", output={"type": "object", "required": ["id"]})
    async def forbidden(params: dict[str, Any], ctx: Context) -> None:
        raise Forbidden("not yours")

    return Application("shop", groups=[shop], http=False, env_file=None, environ={"OUTPUT_VALIDATION": mode})


@pytest.mark.parametrize(("mode", "code"), [("error", 500), ("warn", 200), ("off", 200)])
async def test_output_validation_modes(mode: str, code: int, capsys: pytest.CaptureFixture[str]) -> None:
    async with TestApp(make_app(mode)) as t:
        envelope = await t.call("shop/item")
        assert (await t.call("shop/forbidden"))["code"] == 403  # errors are not outputs
    assert envelope["code"] == code
    logged = "invalid output of shop/item" in capsys.readouterr().err
    assert logged == (mode != "off")
