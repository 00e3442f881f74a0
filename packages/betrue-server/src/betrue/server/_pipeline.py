"""The call path as one pipeline of middlewares, composed once per command at start.

``PIPELINE`` is the order, outermost first, and the only place it is written down (docs are checked
against it by a test). The router fills ``errors``, ``deadline``, ``middlewares``, the validations and
the handler; the other slots are plugged by other parts with ``Router.add_stage`` (``Application.add_stage``).
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

__all__ = [
    "PIPELINE",
    "PLUGGABLE",
    "OutputValidation",
    "compose",
    "error_boundary",
    "handler_stage",
    "input_stage",
    "output_stage",
]

PIPELINE: tuple[str, ...] = (
    "log",  # one log line per call with status and duration (sees the final Response)       — observability
    "errors",  # any exception → error Response; unexpected ones → 500 with the trace id       — the router
    "trace",  # an OpenTelemetry span per call                                                  — observability
    "metrics",  # calls, errors by status, duration, in flight                                  — observability
    "deadline",  # the caller's deadline (``x-timeout-ms``) ends the call with 504               — the router
    "authorize",  # the command's auth rule                                                     — auth
    "stream",  # an upload's media type and size limit, checked before it is read               — streams
    "middlewares",  # the application's, then the group's, then the command's                  — the router
    "validate_input",  # params against the input schema (400 listing every failing field)      — the router
    "validate_output",  # the handler's result against the output schema                        — the router
    "handler",  # the command's handler; a plain value becomes a Response                      — the router
)
"""The pipeline of every command, outermost first."""

PLUGGABLE: tuple[str, ...] = ("log", "trace", "metrics", "authorize", "stream")
"""The slots other parts fill (``Router.add_stage``); the router fills the others itself."""

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


def input_stage(command: Command, engine: Engine = "jsonschema-rs") -> Middleware | None:
    """The input validation stage of ``command`` (None without an input schema); compiled here, once."""
    if command.input is None:
        return None
    check_input = compile_schema(command.input, where=command.code, engine=engine).validate

    def validate_input(ctx: Context, params: Any, call_next: CallNext) -> Awaitable[Response]:
        # A plain function: an invalid input raises here, inside the awaiting stage's try, like a coroutine's
        # would; a valid one hands back the next stage's awaitable, with no frame of its own per call.
        return call_next(ctx, check_input(params))

    return validate_input


def output_stage(
    command: Command, output_mode: OutputValidation, engine: Engine = "jsonschema-rs"
) -> Middleware | None:
    """The output validation stage of ``command`` (None without an output schema or when turned off)."""
    if command.output is None or output_mode == "off":
        return None
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

    return validate_output
