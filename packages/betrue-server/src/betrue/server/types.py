"""The shared vocabulary of the call path: handlers, middlewares, schemas, scopes, envelopes, and the
protocols a handler sees through its context (``ctx.client``, ``ctx.connection``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeAlias

if TYPE_CHECKING:
    from pydantic import BaseModel

    from betrue.server.context import Context, Identity
    from betrue.server.response import Response

__all__ = [
    "CallNext",
    "CallPath",
    "Caller",
    "Connection",
    "Envelope",
    "EventHandler",
    "Handler",
    "Meta",
    "Middleware",
    "Schema",
    "Scope",
]

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

Envelope: TypeAlias = Mapping[str, Any]
"""The transport-neutral answer (``code``, ``status``, ``result`` or ``error``, ``trace_id``), as a mapping."""


class CallPath(Protocol):
    """``ctx.client.game.load(params)``: attributes build the command code, calling it makes the call."""

    def __getattr__(self, name: str) -> CallPath: ...

    def __call__(
        self, params: Any = None, *, timeout: float | None = None, idempotent: bool | None = None
    ) -> Awaitable[Any]: ...


class Caller(Protocol):
    """What ``ctx.client`` is: calls to other commands, local or remote, on behalf of the current call.

    Example:
        >>> async def checkout(params, ctx):  # doctest: +SKIP
        ...     stock = await ctx.client.call("stock/reserve", {"sku": params["sku"]})
        ...     envelope = await ctx.client.call_envelope("mail/send", {"to": "ann"})  # errors not raised
        ...     return await ctx.client.billing.charge({"amount": stock["price"]})     # the attribute form
    """

    def call(
        self,
        code: str,
        params: Any = None,
        *,
        timeout: float | None = None,
        idempotent: bool | None = None,
        meta: Mapping[str, str] | None = None,
    ) -> Awaitable[Any]: ...

    def call_envelope(
        self,
        code: str,
        params: Any = None,
        *,
        timeout: float | None = None,
        idempotent: bool | None = None,
        meta: Mapping[str, str] | None = None,
    ) -> Awaitable[Envelope]: ...

    def __getattr__(self, group: str) -> CallPath: ...


class Connection(Protocol):
    """A long-lived connection a command is called over (``ctx.connection``) and events are pushed to.

    The WebSocket adapter's connections are one kind; an adapter without connections (HTTP, NATS,
    jobs) passes None.
    """

    id: str
    identity: Identity | None
    remote: str | None

    @property
    def attributes(self) -> Mapping[str, Any]: ...

    @property
    def rooms(self) -> frozenset[str]: ...

    def set(self, **values: Any) -> None: ...

    def join(self, *rooms: str) -> None: ...

    def leave(self, *rooms: str) -> None: ...

    def identify(self, identity: Identity | None) -> None: ...

    def send(self, event: str, data: Any = None) -> bool: ...
