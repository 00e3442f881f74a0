"""The client: call any command by code; a routing table decides local, HTTP or NATS per group."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from betrue.server.errors import error_from_envelope
from betrue.server.transports.base import Transport
from betrue.server.transports.local import LocalTransport

if TYPE_CHECKING:
    from betrue.server.application import Application
    from betrue.server.context import Context

__all__ = ["BoundClient", "Client"]


class Client:
    """Routes calls by command group. ``routes`` maps a group (or ``*``) to a Transport.

    Example:
        >>> # inside a handler: await ctx.client.call("game/load", {"id": 1})
        >>> # or the attribute form:  await ctx.client.game.load({"id": 1})
    """

    def __init__(self, app: Application) -> None:
        self.app = app
        self.local = LocalTransport(app)
        self.routes: dict[str, Transport] = {}

    def route(self, group: str, transport: Transport) -> None:
        """Serve ``group`` (or ``*`` for every other group) through ``transport``."""
        self.routes[group] = transport

    def transport_for(self, code: str) -> Transport:
        group = code.split("/", 1)[0]
        return self.routes.get(group) or self.routes.get("*") or self.local

    async def call(
        self,
        code: str,
        params: Any = None,
        *,
        meta: Mapping[str, str] | None = None,
        timeout: float | None = None,
        ctx: Context | None = None,
    ) -> Any:
        """Call ``code`` and return its result; an error envelope is raised as the same error class."""
        envelope = await self.call_envelope(code, params, meta=meta, timeout=timeout, ctx=ctx)
        if "error" in envelope:
            raise error_from_envelope(dict(envelope))
        return envelope.get("result")

    async def call_envelope(
        self,
        code: str,
        params: Any = None,
        *,
        meta: Mapping[str, str] | None = None,
        timeout: float | None = None,
        ctx: Context | None = None,
    ) -> Mapping[str, Any]:
        outgoing = dict(meta or {})
        deadline = time.time() + timeout if timeout is not None else None
        if ctx is not None:
            outgoing.setdefault("x-trace-id", ctx.trace_id)
            if ctx.deadline is not None:
                deadline = min(deadline, ctx.deadline) if deadline is not None else ctx.deadline
        return await self.transport_for(code).call(code, params if params is not None else {}, outgoing, deadline)

    def bound(self, ctx: Context) -> BoundClient:
        return BoundClient(self, ctx)

    def __getattr__(self, group: str) -> _GroupProxy:
        if group.startswith("_"):
            raise AttributeError(group)
        return _GroupProxy(self, None, group)

    async def close(self) -> None:
        for transport in {id(t): t for t in self.routes.values()}.values():
            await transport.close()


class BoundClient:
    """A client tied to the current call: trace id, identity and deadline travel with each call."""

    __slots__ = ("_client", "_ctx")

    def __init__(self, client: Client, ctx: Context) -> None:
        self._client = client
        self._ctx = ctx

    async def call(self, code: str, params: Any = None, *, timeout: float | None = None) -> Any:
        return await self._client.call(code, params, timeout=timeout, ctx=self._ctx)

    def __getattr__(self, group: str) -> _GroupProxy:
        if group.startswith("_"):
            raise AttributeError(group)
        return _GroupProxy(self._client, self._ctx, group)


class _GroupProxy:
    __slots__ = ("_client", "_ctx", "_group")

    def __init__(self, client: Client, ctx: Context | None, group: str) -> None:
        self._client, self._ctx, self._group = client, ctx, group

    def __getattr__(self, name: str) -> Any:
        code = f"{self._group}/{name}"

        async def call(params: Any = None, *, timeout: float | None = None) -> Any:
            return await self._client.call(code, params, timeout=timeout, ctx=self._ctx)

        return call
