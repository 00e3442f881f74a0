"""The stages the router builds itself: the error boundary, the handler stage, the validations, composition."""

from __future__ import annotations

from typing import Any

import pytest

from betrue.server import CallNext, Command, Context, InternalError, Middleware, NotFound, Response, ValidationError
from betrue.server._pipeline import compose, error_boundary, handler_stage, input_stage, output_stage


class _Ctx:
    """The little of a context these stages read."""

    code = "shop/buy"
    trace_id = "t-1"

    def __init__(self) -> None:
        from loguru import logger

        self.logger = logger


def _command(handler: Any, **schemas: Any) -> Command:
    return Command(code="shop/buy", handler=handler, **schemas)


async def test_the_handler_stage_wraps_a_plain_value_and_keeps_a_response() -> None:
    async def plain(params: Any, ctx: Any) -> int:
        return 7

    async def explicit(params: Any, ctx: Any) -> Response:
        return Response({"id": 1}, code=201)

    ctx: Any = _Ctx()
    assert (await handler_stage(_command(plain))(ctx, {})).result == 7
    created = await handler_stage(_command(explicit))(ctx, {})
    assert (created.result, created.code) == ({"id": 1}, 201)


async def test_the_error_boundary_turns_errors_into_responses_and_hides_bugs() -> None:
    async def raises(error: BaseException) -> Response:
        raise error

    ctx: Any = _Ctx()
    known = await error_boundary(ctx, {}, lambda c, p: raises(NotFound("gone")))
    assert known.error is not None
    assert known.error.code == 404
    bug = await error_boundary(ctx, {}, lambda c, p: raises(KeyError("secret detail")))
    assert isinstance(bug.error, InternalError)
    assert "secret detail" not in bug.error.message
    assert "t-1" in bug.error.message


async def test_no_schema_no_validation_stage() -> None:
    async def handler(params: Any, ctx: Any) -> None:
        return None

    command = _command(handler)
    assert input_stage(command) is None
    assert output_stage(command, "error") is None
    typed = _command(handler, input={"type": "object"}, output={"type": "object"})
    assert input_stage(typed) is not None
    assert output_stage(typed, "off") is None


async def test_the_input_stage_refuses_bad_params_before_the_handler() -> None:
    ran: list[Any] = []

    async def handler(params: Any, ctx: Any) -> None:
        ran.append(params)

    command = _command(handler, input={"type": "object", "properties": {"n": {"type": "integer"}}})
    stage = input_stage(command)
    assert stage is not None
    pipeline = compose([error_boundary, stage], handler_stage(command))
    ctx: Any = _Ctx()
    refused = await pipeline(ctx, {"n": "x"})
    assert isinstance(refused.error, ValidationError)
    assert ran == []
    await pipeline(ctx, {"n": 1})
    assert ran == [{"n": 1}]


async def test_compose_without_stages_is_the_handler_itself() -> None:
    async def handler(params: Any, ctx: Any) -> str:
        return "direct"

    innermost = handler_stage(_command(handler))
    assert compose([], innermost) is innermost


@pytest.mark.parametrize("count", [1, 5, 30])
async def test_compose_runs_any_number_of_stages_in_order(count: int) -> None:
    seen: list[int] = []

    def numbered(number: int) -> Middleware:
        async def stage(ctx: Context, params: Any, call_next: CallNext) -> Response:
            seen.append(number)
            return await call_next(ctx, params)

        return stage

    async def handler(params: Any, ctx: Any) -> str:
        return "end"

    pipeline = compose([numbered(n) for n in range(count)], handler_stage(_command(handler)))
    ctx: Any = _Ctx()
    assert (await pipeline(ctx, {})).result == "end"
    assert seen == list(range(count))
