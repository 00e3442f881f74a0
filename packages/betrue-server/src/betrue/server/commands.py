"""Commands: a code, a handler, schemas and rules; grouped by a Group (a router) or written as classes."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from betrue.server.errors import BetrueError
from betrue.server.types import EventHandler, Handler, Middleware, Schema

if TYPE_CHECKING:
    from betrue.server.context import Context
    from betrue.server.cron import Schedule
    from betrue.server.eventdecl import EventDeclaration

__all__ = ["Command", "CommandClass", "Group", "Subscriber"]

_SEGMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")

IN_PROCESS = frozenset({"local", "test", "job", "event"})
"""Adapters that call commands from inside the process: every command is served on them."""


@dataclass(slots=True)
class Command:
    """Everything the framework knows about one command; built by ``Group.command`` or ``CommandClass``."""

    code: str
    handler: Handler
    input: Schema = None
    output: Schema = None
    description: str = ""
    errors: tuple[type[BetrueError], ...] = ()
    auth: str | Sequence[str] | None = None
    """``"public"``, ``"authenticated"``, a list of roles, or None for the application's default."""
    idempotent: bool = False
    middlewares: tuple[Middleware, ...] = ()
    stream: Any = None
    """A stream spec (uploads/downloads); see betrue.server.streams."""
    hidden: bool = False
    transports: tuple[str, ...] | None = None
    """The network adapters that serve it (``("ws",)``: WebSocket only); None: every one. Calls over any
    other answer 404 ``transport``, and its docs list it only there (OpenAPI is HTTP's)."""
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not all(_SEGMENT.match(part) for part in self.code.split("/")):
            raise ValueError(
                f"command code {self.code!r} must be segments of letters, digits, _ and - joined by '/' "
                "('chat/send', or a single segment such as 'load', which is its own group)"
            )
        if not inspect.iscoroutinefunction(self.handler) and not _is_async_callable(self.handler):
            raise TypeError(f"command {self.code!r}: handler must be an async function (params, ctx)")
        self.hidden = self.hidden or self.code.startswith("_")

    @property
    def group(self) -> str:
        """The first segment of the code: its group, routing key and OpenAPI tag (``load`` is its own group)."""
        return self.code.split("/", 1)[0]

    def served_on(self, adapter: str) -> bool:
        """Whether a call arriving through ``adapter`` (``http``, ``ws``, ``nats``...) may run this command.

        Example:
            >>> async def join(params, ctx): ...
            >>> command = Command("chat/join", join, transports=("ws",))
            >>> command.served_on("ws"), command.served_on("http"), command.served_on("test")
            (True, False, True)
        """
        return self.transports is None or adapter in self.transports or adapter in IN_PROCESS


@dataclass(slots=True)
class Subscriber:
    """An event handler registered with ``Group.on``."""

    event: str
    handler: EventHandler
    group: str = ""


def _is_async_callable(obj: Any) -> bool:
    return inspect.iscoroutinefunction(getattr(obj, "__call__", None))  # noqa: B004


class Group:
    """A set of commands under one code prefix, like a router or blueprint.

    Example:
        >>> chat = Group("chat")
        >>> @chat.command("send", input={"type": "object"}, description="Post a message")
        ... async def send(params, ctx):
        ...     return {"ok": True}
        >>> [c.code for c in chat.commands]
        ['chat/send']
    """

    def __init__(
        self,
        name: str,
        *,
        description: str = "",
        middlewares: Sequence[Middleware] = (),
        auth: str | Sequence[str] | None = None,
    ) -> None:
        if not _SEGMENT.match(name):
            raise ValueError(f"group name {name!r} must be letters, digits, _ and -")
        self.name = name
        self.description = description
        self.middlewares: list[Middleware] = list(middlewares)
        self.auth = auth
        self.commands: list[Command] = []
        self.subscribers: list[Subscriber] = []
        self.declarations: dict[str, EventDeclaration] = {}
        """The events this group declares it emits (``declare_event``), by name."""
        self.schedules: list[Schedule] = []
        """Cron schedules of this group's commands (see ``cron``)."""

    def command(
        self,
        name: str,
        *,
        input: Schema = None,
        output: Schema = None,
        description: str | None = None,
        errors: Sequence[type[BetrueError]] = (),
        auth: str | Sequence[str] | None = None,
        idempotent: bool = False,
        middlewares: Sequence[Middleware] = (),
        stream: Any = None,
        hidden: bool = False,
        transports: Sequence[str] | None = None,
    ) -> Callable[[Handler], Handler]:
        """Register the decorated ``async def handler(params, ctx)`` as ``<group>/<name>``."""

        def register(handler: Handler) -> Handler:
            self.commands.append(
                Command(
                    code=f"{self.name}/{name}",
                    handler=handler,
                    input=input,
                    output=output,
                    description=description if description is not None else inspect.getdoc(handler) or "",
                    errors=tuple(errors),
                    auth=auth if auth is not None else self.auth,
                    idempotent=idempotent,
                    middlewares=tuple(middlewares),
                    stream=stream,
                    hidden=hidden,
                    transports=tuple(transports) if transports is not None else None,
                )
            )
            return handler

        return register

    def add(self, command_class: type[CommandClass]) -> type[CommandClass]:
        """Register a class-form command under this group (usable as a class decorator)."""
        self.commands.append(command_class.as_command(group=self))
        return command_class

    def use(self, middleware: Middleware) -> Middleware:
        """Add a middleware that runs for every command of this group."""
        self.middlewares.append(middleware)
        return middleware

    def on(self, event: str) -> Callable[[EventHandler], EventHandler]:
        """Subscribe the decorated ``async def handler(data, ctx)`` to ``event``."""

        def register(handler: EventHandler) -> EventHandler:
            if not inspect.iscoroutinefunction(handler):
                raise TypeError(f"subscriber of {event!r} must be an async function (data, ctx)")
            self.subscribers.append(Subscriber(event=event, handler=handler, group=self.name))
            return handler

        return register

    def cron(
        self,
        expression: str,
        *,
        tz: str = "UTC",
        name: str | None = None,
        params: Mapping[str, Any] | None = None,
        max_attempts: int | None = None,
        description: str | None = None,
    ) -> Callable[[Handler], Handler]:
        """Run the decorated ``async def handler(params, ctx)`` as a job at each tick of ``expression``.

        It becomes the hidden command ``<group>/<name or function name>``; each tick is enqueued once
        across every instance (see ``betrue.server.cron``).

        Example:
            >>> reports = Group("reports")
            >>> @reports.cron("0 6 * * *", tz="Europe/Paris")
            ... async def daily(params, ctx):
            ...     return {"sent": True}
            >>> reports.schedules[0].code
            'reports/daily'
        """
        from betrue.server.cron import Schedule

        def register(handler: Handler) -> Handler:
            code = f"{self.name}/{name or getattr(handler, '__name__', '')}"
            schedule = Schedule(code, expression, tz=tz, params=dict(params or {}), max_attempts=max_attempts)
            self.command(code.split("/", 1)[1], description=description, hidden=True)(handler)
            self.schedules.append(schedule)
            return handler

        return register


class CommandClass:
    """The class form of a command; registers the same thing as ``Group.command``.

    Example:
        >>> class Echo(CommandClass):
        ...     code = "util/echo"
        ...     input = {"type": "object"}
        ...     async def handle(self, params, ctx):
        ...         return params
        >>> Echo.as_command().code
        'util/echo'
    """

    code: ClassVar[str] = ""
    name: ClassVar[str] = ""
    input: ClassVar[Schema] = None
    output: ClassVar[Schema] = None
    description: ClassVar[str | None] = None
    errors: ClassVar[Sequence[type[BetrueError]]] = ()
    auth: ClassVar[str | Sequence[str] | None] = None
    idempotent: ClassVar[bool] = False
    middlewares: ClassVar[Sequence[Middleware]] = ()
    stream: ClassVar[Any] = None
    transports: ClassVar[Sequence[str] | None] = None

    async def handle(self, params: Any, ctx: Context) -> Any:
        """The handler; every subclass writes it."""
        raise NotImplementedError

    @classmethod
    def as_command(cls, group: Group | None = None) -> Command:
        code = cls.code or (f"{group.name}/{cls.name}" if group is not None and cls.name else "")
        if not code:
            raise ValueError(f"{cls.__name__}: set `code` ('group/name'), or `name` and add it to a Group")
        if cls.handle is CommandClass.handle:
            raise TypeError(f"{cls.__name__}: write `async def handle(self, params, ctx)`")
        instance = cls()
        auth = cls.auth if cls.auth is not None else (group.auth if group is not None else None)
        # The class's own docstring only: an undocumented command must not inherit CommandClass's.
        own_doc = inspect.cleandoc(cls.__dict__.get("__doc__") or "")
        return Command(
            code=code,
            handler=instance.handle,
            input=cls.input,
            output=cls.output,
            description=cls.description if cls.description is not None else own_doc,
            errors=tuple(cls.errors),
            auth=auth,
            idempotent=cls.idempotent,
            middlewares=tuple(cls.middlewares),
            stream=cls.stream,
            transports=tuple(cls.transports) if cls.transports is not None else None,
        )
