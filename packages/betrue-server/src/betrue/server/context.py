"""What a handler gets besides its params: trace, meta, identity, services, logger and the verbs."""

from __future__ import annotations

import random
import re
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, overload

from loguru import logger as root_logger

from betrue.server.errors import GatewayTimeout

if TYPE_CHECKING:
    from loguru import Logger

    from betrue.server.application import Application
    from betrue.server.commands import Command
    from betrue.server.di import RequestScope
    from betrue.server.types import Caller, Connection

__all__ = ["Context", "Identity", "new_trace_id", "trace_id_from"]

_S = TypeVar("_S")

_TRACE_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")
_TRACEPARENT = re.compile(r"[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}")
_ZERO_TRACE = "0" * 32


def new_trace_id() -> str:
    """A fresh trace id: 32 lower-case hex digits, the W3C trace-context format."""
    # Unique, not secret (OpenTelemetry's SDK draws its ids the same way); far cheaper than os.urandom's syscall.
    return f"{random.getrandbits(128):032x}"


def trace_id_from(meta: Mapping[str, str]) -> str:
    """The caller's trace id (``x-trace-id``, else the one in ``traceparent``), or a new one.

    A caller's id is kept only when it is 1–128 characters of letters, digits and ``._:-``: it is echoed
    in headers and logs, where anything else could be abused.

    Example:
        >>> trace_id_from({"x-trace-id": "req-42"})
        'req-42'
        >>> trace_id_from({"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"})
        '4bf92f3577b34da6a3ce929d0e0e4736'
        >>> len(trace_id_from({"x-trace-id": "bad id"}))
        32
    """
    given = meta.get("x-trace-id")
    if given is not None and _TRACE_ID.fullmatch(given):
        return given
    parent = meta.get("traceparent")
    if parent is not None and (match := _TRACEPARENT.fullmatch(parent)) and match[1] != _ZERO_TRACE:
        return match[1]
    return new_trace_id()


class Identity:
    """Who is calling: filled by the authenticator. ``subject`` is the user or client id.

    Example:
        >>> Identity("u1", roles=("admin",)).has_role("admin")
        True
    """

    __slots__ = (
        "claims",
        "roles",
        "subject",
    )

    def __init__(self, subject: str, *, roles: tuple[str, ...] = (), claims: Mapping[str, Any] | None = None) -> None:
        self.subject = subject
        self.roles = tuple(roles)
        self.claims: Mapping[str, Any] = dict(claims or {})

    def has_role(self, *roles: str) -> bool:
        return any(role in self.roles for role in roles)

    def to_dict(self) -> dict[str, Any]:
        return {"subject": self.subject, "roles": list(self.roles), "claims": dict(self.claims)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Identity:
        return cls(str(data["subject"]), roles=tuple(data.get("roles", ())), claims=data.get("claims") or {})

    def __repr__(self) -> str:
        return f"Identity({self.subject!r}, roles={self.roles!r})"


class Context:
    """The per-call context. Adapters create it through ``Application.handle``; handlers read it.

    Example:
        >>> async def whoami(params, ctx):  # doctest: +SKIP
        ...     store = await ctx.service("store")
        ...     ctx.logger.info("asked by {}", ctx.identity)
        ...     await ctx.emit("chat.message", {"text": "hi"}, to={"room": "r1"})
        ...     return await ctx.client.call("game/load", {"id": 1})
    """

    __slots__ = (
        "_logger",
        "_scope",
        "adapter",
        "app",
        "command",
        "connection",
        "deadline",
        "identity",
        "meta",
        "parent_span",
        "span",
        "state",
        "trace_id",
    )

    def __init__(
        self,
        app: Application,
        *,
        command: Command | None,
        trace_id: str,
        meta: Mapping[str, str],
        adapter: str,
        scope: RequestScope | None = None,
        logger: Logger | None = None,
        identity: Identity | None = None,
        connection: Connection | None = None,
        deadline: float | None = None,
        parent_span: Any = None,
    ) -> None:
        self.app = app
        self.command = command
        self.trace_id = trace_id
        self.meta = meta
        self.adapter = adapter
        self._scope = scope
        self._logger = logger
        self.identity = identity
        self.connection = connection
        self.deadline = deadline
        self.parent_span = parent_span
        self.span: Any = None
        self.state: dict[str, Any] = {}

    @property
    def logger(self) -> Logger:
        """A loguru logger bound to this call's ``trace_id`` and ``command``; built on first use."""
        bound = self._logger
        if bound is None:
            bound = self._logger = root_logger.bind(trace_id=self.trace_id, command=self.code)
        return bound

    @logger.setter
    def logger(self, value: Logger) -> None:
        self._logger = value

    @property
    def code(self) -> str:
        return self.command.code if self.command is not None else ""

    @property
    def scope(self) -> RequestScope:
        """This call's request-scoped services; made on first use."""
        scope = self._scope
        if scope is None:
            scope = self._scope = self.app.container.request_scope()
        return scope

    @overload
    async def service(self, key: str) -> Any: ...

    @overload
    async def service(self, key: type[_S]) -> _S: ...

    async def service(self, key: str | type[Any]) -> Any:
        """A service from DI, by name or by class; request-scoped ones are built once per call, then stopped.

        ``await ctx.service(NoteStore)`` is typed ``NoteStore``; ``await ctx.service("notes")`` is ``Any``.
        """
        name = key if isinstance(key, str) else self.app.container.name_of(key)
        return await self.scope.get(name)

    @property
    def client(self) -> Caller:
        """Call other commands, local or remote, carrying this call's trace, identity and deadline.

        The client is service ``client``: overriding it (``TestApp(overrides={"client": ...})``) changes this.
        """
        client = self.app.client
        bound = getattr(client, "bound", None)
        caller: Caller = bound(self) if bound is not None else client
        return caller

    async def emit(self, event: str, data: Any = None, *, to: Mapping[str, Any] | None = None) -> None:
        """Publish an event; ``to`` selects receivers (e.g. ``{"room": "r1"}``)."""
        await self.app.emit(event, data, to=to, ctx=self)

    async def enqueue(
        self,
        code: str,
        params: Mapping[str, Any] | None = None,
        *,
        delay: float = 0.0,
        key: str | None = None,
        retries: int | None = None,
    ) -> str:
        """Run command ``code`` later, on a worker, with retries; returns the job id (see betrue.server.jobs)."""
        return await self.app.enqueue(code, params, delay=delay, key=key, retries=retries, ctx=self)

    def remaining(self) -> float | None:
        """Seconds left before the caller's deadline, or None when there is none."""
        if self.deadline is None:
            return None
        return self.deadline - time.time()

    def check_deadline(self) -> None:
        """Raise GatewayTimeout when the caller's deadline has passed."""
        remaining = self.remaining()
        if remaining is not None and remaining <= 0:
            raise GatewayTimeout("deadline passed before the call could finish")
