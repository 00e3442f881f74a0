"""The call path as one pipeline of middlewares, composed once per command at start.

The order, outermost first (the only place it is written down):

1. ``log_call``        one log line per call with status and duration (sees the final Response)
2. ``error_boundary``  any exception → error Response; unexpected ones → 500 with the trace id
3. ``trace_call``      an OpenTelemetry span per call
4. ``measure_call``    metrics: calls, errors by status, duration, in flight
5. ``authorize``       the command's auth rule (when the application has an authenticator)
6. application middlewares, then the group's, then the command's (``Application.use``, ``Group.use``)
7. ``validate_input``  params against the input schema (400 listing every failing field)
8. ``validate_output`` the handler's result against the output schema
9. the handler
"""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from typing import Any, Literal, TypeAlias

from betrue.server.commands import Command
from betrue.server.context import Context
from betrue.server.errors import BetrueError, InternalError, ValidationError
from betrue.server.response import Response
from betrue.server.types import CallNext, Middleware
from betrue.server.validation import Engine, compile_schema

__all__ = ["OutputValidation", "compose", "error_boundary", "handler_stage", "validation_stages"]

OutputValidation: TypeAlias = Literal["error", "warn", "off"]


def handler_stage(command: Command) -> CallNext:
    """The innermost stage: run the handler and wrap a plain value in a Response."""
    handler = command.handler

    async def run(ctx: Context, params: Any) -> Response:
        result = await handler(params, ctx)
        return result if isinstance(result, Response) else Response(result)

    return run


def compose(middlewares: Sequence[Middleware], innermost: CallNext) -> CallNext:
    """Fold middlewares (outermost first) around ``innermost`` into one callable, once."""
    call: CallNext = innermost
    for middleware in reversed(middlewares):
        call = _bind(middleware, call)
    return call


def _bind(middleware: Middleware, call_next: CallNext) -> CallNext:
    # A plain function handing back the middleware's coroutine: no extra coroutine frame per stage and call.
    def stage(ctx: Context, params: Any) -> Awaitable[Response]:
        return middleware(ctx, params, call_next)

    return stage


async def error_boundary(ctx: Context, params: Any, call_next: CallNext) -> Response:
    """Turn exceptions into error Responses; anything unexpected is a 500 that leaks nothing."""
    try:
        return await call_next(ctx, params)
    except BetrueError as error:
        return Response.from_error(error)
    except Exception:
        ctx.logger.opt(exception=True).error("unhandled exception in {}", ctx.code)
        return Response.from_error(InternalError(f"Internal error (trace id {ctx.trace_id})"))


def validation_stages(
    command: Command, output_mode: OutputValidation, engine: Engine = "jsonschema-rs"
) -> list[Middleware]:
    """The input and output validation stages for ``command``; validators are compiled here, once."""
    stages: list[Middleware] = []
    if command.input is not None:
        check_input = compile_schema(command.input, where=command.code, engine=engine).validate

        async def validate_input(ctx: Context, params: Any, call_next: CallNext) -> Response:
            return await call_next(ctx, check_input(params))

        stages.append(validate_input)
    if command.output is not None and output_mode != "off":
        check_output = compile_schema(command.output, where=command.code, direction="output", engine=engine).validate

        async def validate_output(ctx: Context, params: Any, call_next: CallNext) -> Response:
            response = await call_next(ctx, params)
            if response.error is not None or response.stream is not None:
                return response
            try:
                response.result = check_output(response.result)
            except ValidationError as error:
                ctx.logger.error("invalid output of {}: {}", ctx.code, error.details)
                if output_mode == "error":
                    raise InternalError(f"Invalid output (trace id {ctx.trace_id})") from None
            return response

        stages.append(validate_output)
    return stages
