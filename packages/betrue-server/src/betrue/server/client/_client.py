"""The client: call any command by code; a routing table decides local, HTTP or NATS per group."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any, TypeAlias

from betrue.server.client._breaker import CircuitBreakers
from betrue.server.client._calls import Call, ClientMiddleware, Envelope, Send, compose_client
from betrue.server.client._config import ClientConfig, parse_routes
from betrue.server.client._idempotency import Idempotency
from betrue.server.client._resilience import Bulkheads, Policy, Retry, Timeout
from betrue.server.client.transports.base import TRANSPORT_ENTRY_POINTS, Transport
from betrue.server.client.transports.http import HttpTransport
from betrue.server.client.transports.local import LocalTransport
from betrue.server.context import new_trace_id
from betrue.server.errors import error_from_envelope
from betrue.server.observability._tracing import trace_fields

if TYPE_CHECKING:
    from betrue.server.application import Application
    from betrue.server.context import Context
    from betrue.server.observability._telemetry import Telemetry

__all__ = ["BoundClient", "Client", "MetaHook", "TransportFactory"]

MetaHook: TypeAlias = "Callable[[Context | None, dict[str, str]], None]"
"""``hook(ctx, meta)`` adds headers to every outgoing call (a signed identity, a tenant id)."""
TransportFactory: TypeAlias = Callable[[str], Transport]
"""Builds the transport of a route target with a given URL scheme (``nats://…`` in betrue.nats)."""


class Client:
    """Routes calls by command group to transports; fault tolerance and telemetry on the way (``_calls.py``).

    Which transport serves a group comes from ``ROUTES`` (``game=http://127.0.0.1:3001,*=local``) or
    from ``route()`` in code (``ROUTES`` wins for the groups it names); unrouted groups are local.

    Example:
        >>> # inside a handler: await ctx.client.call("game/load", {"id": 1})
        >>> # or the attribute form:  await ctx.client.game.load({"id": 1})
    """

    def __init__(self, app: Application) -> None:
        self.app = app
        self.config = ClientConfig.from_dict({})
        self.local = LocalTransport(app)
        self.routes: dict[str, Transport] = {}
        self.transports: dict[str, Transport] = {"local": self.local}
        self.schemes: dict[str, TransportFactory] = {"http": self._http, "https": self._http}
        self.default_policy = Policy()
        self.policies: dict[str, Policy] = {}
        """The policy of each group that has its own; the others use ``default_policy``."""
        self._policy_changes: dict[str, dict[str, Any]] = {}
        self._telemetry: Telemetry | None = None
        self.meta_hooks: list[MetaHook] = []
        self.middlewares: list[ClientMiddleware] = []
        """Your own client middlewares, run inside telemetry and outside the fault-tolerance stages."""
        self.breakers = CircuitBreakers()
        self.bulkheads = Bulkheads()
        self.idempotency = Idempotency(app.commands)
        """May a command be repeated? (``idempotency.known`` holds what other apps said.)"""
        self._code_routes: dict[str, Transport] = {}
        self._forward: tuple[str, ...] = (*self.config.forward_headers, *trace_fields())
        self._send: Send = self._compose(None)

    # -- set-up -----------------------------------------------------------------------------

    def configure(self, config: ClientConfig, telemetry: Telemetry | None = None) -> Client:
        """The DI factory of service ``client``: read the config; transports are made at start."""
        self.config = config
        self._telemetry = telemetry
        return self

    async def start(self) -> Client:
        config = self.config
        self.local.json = config.local_json
        # The caller's trace headers go on as they came; with an SDK the client span writes its own over them.
        self._forward = (*(name.lower() for name in config.forward_headers), *trace_fields())
        self._apply_policies()
        self._code_routes = dict(self.routes)
        for group, target in parse_routes(config.routes).items():
            self.routes[group] = self.transport(target)
        self.breakers, self.bulkheads = CircuitBreakers(), Bulkheads()  # a fresh run, maybe on another loop
        self._send = self._compose(self._telemetry)
        return self

    async def stop(self) -> None:
        await self.close()
        self.routes = dict(self._code_routes)

    def add_middleware(self, middleware: ClientMiddleware) -> ClientMiddleware:
        """Add a client middleware (inside telemetry, outside the fault-tolerance stages); before start."""
        self.middlewares.append(middleware)
        return middleware

    def add_meta_hook(self, hook: MetaHook) -> MetaHook:
        """Add ``hook(ctx, meta)``, run on every outgoing call to add headers (a signed identity, a tenant)."""
        self.meta_hooks.append(hook)
        return hook

    def register_transport(self, scheme: str, factory: TransportFactory) -> None:
        """Serve route targets of URL scheme ``scheme`` (``nats``) with ``factory(target) -> Transport``.

        Installed packages need not call this: the entry-point group ``betrue.transports`` is read too.
        """
        self.schemes[scheme] = factory

    def known_schemes(self) -> list[str]:
        """Every URL scheme a route target may use: registered here or by an installed package."""
        return sorted({*self.schemes, *_installed_schemes()})

    def route(self, group: str, transport: Transport | str) -> Transport:
        """Serve ``group`` (``*``: every other group) through a transport or a target (``local``, a URL)."""
        resolved = self.transport(transport) if isinstance(transport, str) else transport
        self.routes[group] = resolved
        self.transports.setdefault(resolved.target, resolved)
        return resolved

    def route_if_unrouted(self, group: str, transport: Transport) -> Transport:
        """Serve ``group`` through ``transport`` unless a route (``ROUTES`` or ``route``) already serves it."""
        return self.routes.setdefault(group, transport)

    def learn_idempotent(self, code: str, idempotent: bool) -> None:
        """Record whether ``code`` may be repeated (what a gateway reads from an upstream's ``_app/commands``)."""
        self.idempotency.known[code] = idempotent

    def policy(self, group: str, **changes: Any) -> Policy:
        """Change how calls to ``group`` are protected: ``client.policy("game", retries=0, bulkhead=10)``.

        The changes apply on top of the ``CLIENT_*`` defaults; ``CLIENT_POLICIES`` wins where both set
        the same option of the same group.
        """
        self._policy_changes.setdefault(group, {}).update(changes)
        self._apply_policies()
        return self.policies[group]

    def _apply_policies(self) -> None:
        self.default_policy = self.config.policy()
        configured = self.config.policy_changes()
        self.policies = {
            group: replace(self.default_policy, **{**self._policy_changes.get(group, {}), **configured.get(group, {})})
            for group in {*self._policy_changes, *configured}
        }

    def transport(self, target: str) -> Transport:
        """The one transport of a target (``local``, ``http://…``), made on first use and shared."""
        found = self.transports.get(target)
        if found is None:
            target = target.rstrip("/")
            found = self.transports.get(target)
        if found is None:
            scheme = target.split("://", 1)[0] if "://" in target else target
            factory = self.schemes.get(scheme) or _installed_transport(scheme)
            if factory is None:
                raise ValueError(f"no transport for {target!r}: known schemes {self.known_schemes()}")
            found = self.transports[target] = factory(target)
        return found

    def _http(self, target: str) -> Transport:
        config = self.config
        return HttpTransport(
            target,
            pool_size=config.pool_size,
            connect_timeout=config.connect_timeout,
            keepalive=config.keepalive,
            max_response=config.max_response,
        )

    def _compose(self, telemetry: Telemetry | None) -> Send:
        observe = telemetry.client_stages() if telemetry is not None else []
        retry, timeout = Retry(self.idempotency.learn), Timeout(guard_all=bool(self.middlewares))
        return compose_client([*observe, timeout, self.bulkheads, *self.middlewares, retry, self.breakers])

    # -- calls ------------------------------------------------------------------------------

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
        idempotent: bool | None = None,
        transport: Transport | None = None,
        ctx: Context | None = None,
    ) -> Any:
        """Call ``code`` and return its result; an error envelope is raised as the same error class.

        ``timeout`` (seconds) shortens the group's policy timeout and the caller's deadline, never
        lengthens them; ``idempotent=True`` lets retries repeat a command not marked so.
        """
        envelope = await self.call_envelope(
            code, params, meta=meta, timeout=timeout, idempotent=idempotent, transport=transport, ctx=ctx
        )
        if "error" in envelope:
            raise error_from_envelope(dict(envelope))
        return envelope.get("result")

    def call_envelope(
        self,
        code: str,
        params: Any = None,
        *,
        meta: Mapping[str, str] | None = None,
        timeout: float | None = None,
        idempotent: bool | None = None,
        transport: Transport | None = None,
        ctx: Context | None = None,
    ) -> Awaitable[Envelope]:
        """Like ``call`` but answers the envelope, errors included, without raising them (await it)."""
        group = code.split("/", 1)[0]
        policy = self.policies.get(group, self.default_policy)
        outgoing: dict[str, str] = {}
        deadline = None
        limit = timeout if timeout is not None else policy.timeout
        if limit is not None:
            deadline = time.time() + limit
        if ctx is None:
            outgoing["x-trace-id"] = new_trace_id()  # a call from outside any command starts a trace
        else:
            outgoing["x-trace-id"] = ctx.trace_id
            incoming = ctx.meta
            for name in self._forward:
                value = incoming.get(name)
                if value is not None:
                    outgoing[name] = value
            if ctx.deadline is not None and (deadline is None or ctx.deadline < deadline):
                deadline = ctx.deadline
        for hook in self.meta_hooks:
            hook(ctx, outgoing)
        if meta:
            outgoing.update(meta)
        call = Call(
            code,
            params if params is not None else {},
            outgoing,
            deadline,
            transport or self.transport_for(code),
            policy,
            self.idempotency.of(code, policy, idempotent),
            ctx,
        )
        return self._send(call)

    def bound(self, ctx: Context) -> BoundClient:
        return BoundClient(self, ctx)

    def __getattr__(self, group: str) -> _Path:
        if group.startswith("_"):
            raise AttributeError(group)
        return _Path(self, None, group)

    async def close(self) -> None:
        """Close every transport this client opened (their connection pools)."""
        for transport in list(self.transports.values()):
            await transport.close()
        self.transports = {"local": self.local}


def _installed_transport(scheme: str) -> TransportFactory | None:
    """The transport factory an installed package registered for ``scheme`` (group ``betrue.transports``)."""
    from importlib.metadata import entry_points

    for entry in entry_points(group=TRANSPORT_ENTRY_POINTS, name=scheme):
        factory: TransportFactory = entry.load()
        return factory
    return None


def _installed_schemes() -> list[str]:
    from importlib.metadata import entry_points

    return [entry.name for entry in entry_points(group=TRANSPORT_ENTRY_POINTS)]


class BoundClient:
    """A client tied to the current call: trace, forwarded credentials and deadline travel with each call."""

    __slots__ = ("_client", "_ctx")

    def __init__(self, client: Client, ctx: Context) -> None:
        self._client = client
        self._ctx = ctx

    def call(
        self,
        code: str,
        params: Any = None,
        *,
        timeout: float | None = None,
        idempotent: bool | None = None,
        meta: Mapping[str, str] | None = None,
    ) -> Awaitable[Any]:
        """Call ``code`` on behalf of the current call (see ``Client.call``); await it."""
        return self._client.call(code, params, timeout=timeout, idempotent=idempotent, meta=meta, ctx=self._ctx)

    def call_envelope(
        self,
        code: str,
        params: Any = None,
        *,
        timeout: float | None = None,
        idempotent: bool | None = None,
        meta: Mapping[str, str] | None = None,
    ) -> Awaitable[Envelope]:
        """The envelope of ``code``, errors included, without raising them (see ``Client.call_envelope``)."""
        return self._client.call_envelope(
            code, params, timeout=timeout, idempotent=idempotent, meta=meta, ctx=self._ctx
        )

    def __getattr__(self, group: str) -> _Path:
        if group.startswith("_"):
            raise AttributeError(group)
        return _Path(self._client, self._ctx, group)


class _Path:
    """``client.game.load(params)``: attribute access builds the code, calling it makes the call."""

    __slots__ = ("_client", "_code", "_ctx")

    def __init__(self, client: Client, ctx: Context | None, code: str) -> None:
        self._client, self._ctx, self._code = client, ctx, code

    def __getattr__(self, name: str) -> _Path:
        if name.startswith("_"):
            raise AttributeError(name)
        return _Path(self._client, self._ctx, f"{self._code}/{name}")

    def __call__(
        self,
        params: Any = None,
        *,
        timeout: float | None = None,
        idempotent: bool | None = None,
    ) -> Awaitable[Any]:
        return self._client.call(self._code, params, timeout=timeout, idempotent=idempotent, ctx=self._ctx)
