"""The shared vocabulary of the call path: handlers, middlewares, schemas, scopes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

if TYPE_CHECKING:
    from pydantic import BaseModel

    from betrue.server.context import Context
    from betrue.server.response import Response

__all__ = ["CallNext", "EventHandler", "Handler", "Meta", "Middleware", "Schema", "Scope"]

Meta: TypeAlias = Mapping[str, str]
"""Request metadata: HTTP headers, WebSocket message meta, NATS headers (lower-case keys)."""

Schema: TypeAlias = "Mapping[str, Any] | type[BaseModel] | None"
"""A JSON Schema (Draft 2020-12) dict, a pydantic model, or None for anything."""

Scope: TypeAlias = Literal["singleton", "request", "auto"]

Handler: TypeAlias = "Callable[[Any, Context], Awaitable[Any]]"
"""``async def handler(params, ctx)``: returns a value or a Response."""

EventHandler: TypeAlias = "Callable[[Any, Context], Awaitable[None]]"
"""``async def on_event(data, ctx)``: a subscriber of an event."""

CallNext: TypeAlias = "Callable[[Context, Any], Awaitable[Response]]"

Middleware: TypeAlias = "Callable[[Context, Any, CallNext], Awaitable[Response]]"
"""``async def middleware(ctx, params, call_next) -> Response``: one stage of the call pipeline."""
