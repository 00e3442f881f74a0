"""The router: the command table, each command's pipeline composed once, and ``handle`` that runs a call.

The router is the core of an application and knows no transport: adapters (HTTP, WebSocket, NATS, jobs)
call ``handle``; the stages other parts add (logging, telemetry, authorization, streams) are plugged in by
name into the one pipeline order, ``betrue.server._pipeline.PIPELINE``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias

from betrue.server._pipeline import (
    PIPELINE,
    PLUGGABLE,
    OutputValidation,
    compose,
    error_boundary,
    handler_stage,
    input_stage,
    output_stage,
)
from betrue.server.commands import Command, CommandClass, Group, Subscriber
from betrue.server.context import Context, trace_id_from
from betrue.server.deadlines import deadline_from_meta, enforce_deadline
from betrue.server.errors import BetrueError, NotFound, ServiceUnavailable, ValidationError
from betrue.server.eventdecl import EventDeclaration, check_declarations
from betrue.server.response import Response
from betrue.server.types import CallNext, Connection, Middleware
from betrue.server.validation import Engine

if TYPE_CHECKING:
    from betrue.server.application import Application
    from betrue.server.context import Identity

__all__ = ["Rejected", "Resolver", "Router", "StageFactory"]

StageFactory: TypeAlias = "Callable[[Application, Command], Middleware | None]"
"""Builds a command's stage for one pipeline slot at start; None leaves the slot empty for that command."""
Resolver: TypeAlias = Callable[[str], Awaitable[bool]]
"""Asked about a code no command has (the gateway's discovery); True once it registered the command."""


class Rejected(Protocol):
    """Told about a call refused before its pipeline (unknown command, shutting down); the app logs it."""

    def __call__(self, code: str, trace_id: str, error: BetrueError, *, adapter: str) -> None: ...


def _ignore(code: str, trace_id: str, error: BetrueError, *, adapter: str) -> None:
    return None


class Router:
    """Commands by code, their pipelines, and the one entry every adapter uses: ``handle``.

    Example:
        >>> from betrue.server import Application, Group
        >>> shop = Group("shop")
        >>> @shop.command("ping")
        ... async def ping(params, ctx):
        ...     return "pong"
        >>> router = Application("demo", groups=[shop], http=False).router
        >>> sorted(code for code in router.commands if not code.startswith("_"))  # and the built-in _app/*, _jobs/*
        ['shop/ping']
    """

    def __init__(self, app: Application, *, middlewares: Sequence[Middleware] = ()) -> None:
        self.app = app
        self.groups: dict[str, Group] = {}
        self.commands: dict[str, Command] = {}
        self.subscribers: list[Subscriber] = []
        self.middlewares: list[Middleware] = list(middlewares)
        """Application-wide middlewares: every command, outside the group's and the command's."""
        self.resolvers: list[Resolver] = []
        self.declarations: dict[str, EventDeclaration] = {}
        """The events the application itself declares (``declare_event(app, ...)``); groups hold their own."""
        self.stages: dict[str, list[StageFactory]] = {slot: [] for slot in PLUGGABLE}
        """The stage factories plugged into each slot of the pipeline, in the order they were added."""
        self.output_validation: OutputValidation = "error"
        self.validation_engine: Engine = "jsonschema-rs"
        self.on_rejected: Rejected = _ignore
        self.started = False
        self._pipelines: dict[str, CallNext] = {}
        self._inflight = 0
        self._calls: set[asyncio.Task[Any]] = set()
        self._overdue: set[asyncio.Task[Any]] = set()
        self._idle = asyncio.Event()
        self._accepting = False

    # -- definition -------------------------------------------------------------------------

    def include(self, group: Group) -> Group:
        """Add a group's commands and subscribers; a code another group already serves fails here."""
        known = self.groups.get(group.name)
        if known is not None and known is not group:
            raise ValueError(f"two groups are named {group.name!r}: include one Group per name")
        codes = [command.code for command in group.commands]
        if len(set(codes)) != len(codes):
            twice = sorted({code for code in codes if codes.count(code) > 1})
            raise ValueError(f"group {group.name!r} defines {twice} twice")
        for command in group.commands:
            self._check_new(command)
        check_declarations(
            [*self.declarations.values(), *(d for g in self.groups.values() for d in g.declarations.values())],
            group.declarations.values(),
        )
        self.groups[group.name] = group
        for command in group.commands:
            self.add_command(command)
        self.subscribers.extend(group.subscribers)
        return group

    def add_command(self, command: Command | type[CommandClass]) -> Command:
        """Add one command; its pipeline is built at once when the router is already started."""
        if isinstance(command, type):
            command = command.as_command()
        self._check_new(command)
        self.commands[command.code] = command
        if self.started:
            self._pipelines[command.code] = self.build_pipeline(command)
        return command

    def _check_new(self, command: Command) -> None:
        known = self.commands.get(command.code)
        if known is not None:
            raise ValueError(
                f"duplicate command {command.code!r}: {_origin(known)} and {_origin(command)} both define it"
            )

    def remove_command(self, code: str) -> None:
        self.commands.pop(code, None)
        self._pipelines.pop(code, None)

    def use(self, middleware: Middleware) -> Middleware:
        """Add an application-wide middleware (runs for every command, before group middlewares)."""
        self.middlewares.append(middleware)
        return middleware

    def add_stage(self, slot: str, factory: StageFactory) -> StageFactory:
        """Plug a stage factory into a slot of the pipeline (``PIPELINE`` lists the slots in order).

        Raises ValueError for a slot the pipeline does not have or one the router fills itself.
        """
        if slot not in self.stages:
            raise ValueError(f"no pipeline slot {slot!r}: pluggable slots are {list(PLUGGABLE)}")
        self.stages[slot].append(factory)
        return factory

    def add_resolver(self, resolver: Resolver) -> Resolver:
        """Ask ``resolver`` about unknown codes before answering 404 (a gateway discovering upstreams)."""
        self.resolvers.append(resolver)
        return resolver

    def remove_resolver(self, resolver: Resolver) -> None:
        if resolver in self.resolvers:
            self.resolvers.remove(resolver)

    # -- start and stop ---------------------------------------------------------------------

    def build(self, output_validation: OutputValidation, validation_engine: Engine = "jsonschema-rs") -> None:
        """Compose every command's pipeline (at start): validators compiled, stages bound, once."""
        self.output_validation = output_validation
        self.validation_engine = validation_engine
        self._pipelines = {code: self.build_pipeline(command) for code, command in self.commands.items()}
        self.started = self._accepting = True

    def build_pipeline(self, command: Command) -> CallNext:
        """The composed pipeline of one command, in the order of ``PIPELINE``."""
        return compose(self.stages_of(command), handler_stage(command))

    def stages_of(self, command: Command) -> list[Middleware]:
        """The stages of one command's pipeline, outermost first (the handler runs inside the last)."""
        stages: list[Middleware] = []
        group = self.groups.get(command.group)
        for slot in PIPELINE:
            if slot == "errors":
                stages.append(error_boundary)
            elif slot == "deadline":
                stages.append(enforce_deadline)
            elif slot == "middlewares":
                stages += [*self.middlewares, *(group.middlewares if group is not None else ()), *command.middlewares]
            elif slot == "validate_input":
                stages += filter(None, [input_stage(command, self.validation_engine)])
            elif slot == "validate_output":
                stages += filter(None, [output_stage(command, self.output_validation, self.validation_engine)])
            elif slot != "handler":
                stages += [stage for factory in self.stages[slot] if (stage := factory(self.app, command)) is not None]
        return stages

    @property
    def accepting(self) -> bool:
        """True while new calls are taken: after start, until stop begins (``/_app/ready`` reads it)."""
        return self._accepting

    def stop_accepting(self) -> None:
        self._accepting = False

    def stopped(self) -> None:
        self.started = self._accepting = False

    @property
    def inflight(self) -> int:
        """Calls running now."""
        return self._inflight

    async def drained(self, grace: float) -> bool:
        """Wait up to ``grace`` seconds for the calls in flight; False when some are still running."""
        if not self._inflight:
            return True
        self._idle.clear()
        try:
            await asyncio.wait_for(self._idle.wait(), grace)
        except TimeoutError:
            return False
        return True

    async def answer_overdue(self, wait: float = 1.0) -> int:
        """Cancel the calls still running: each answers 503 ``shutdown`` to its caller. Waits up to ``wait``
        seconds for those answers; returns how many calls were cancelled."""
        overdue = [task for task in self._calls if not task.done()]
        self._overdue.update(overdue)
        for task in overdue:
            task.cancel()
        if overdue:
            self._idle.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._idle.wait(), wait)
        return len(overdue)

    def abandon_drain(self) -> None:
        """End a ``drained`` wait now (a second signal while stopping)."""
        self._idle.set()

    # -- calls ------------------------------------------------------------------------------

    async def handle(
        self,
        code: str,
        params: Any = None,
        meta: Mapping[str, str] | None = None,
        *,
        adapter: str = "local",
        identity: Identity | None = None,
        connection: Connection | None = None,
        trace_id: str | None = None,
        deadline: float | None = None,
        remote: str | None = None,
    ) -> Response:
        """Run one command through its pipeline; never raises, always answers a Response.

        The trace id is ``trace_id``, else the caller's (``x-trace-id`` or ``traceparent`` in ``meta``),
        else a new one; the Response carries it in ``response.trace_id``. A malformed ``x-timeout-ms``
        (0, negative, unreadable) is a 400; a command not served on ``adapter`` (``transports=``) a 404.
        """
        meta = meta or {}
        trace_id = trace_id or trace_id_from(meta)
        if deadline is None:
            try:
                deadline = deadline_from_meta(meta)
            except BetrueError as bad_header:
                return self._reject(code, trace_id, bad_header, adapter)
        command = self.commands.get(code)
        if command is not None and not command.served_on(adapter):
            refusal = NotFound(
                f"{code} is not served over {adapter}",
                details={"reason": "transport", "transports": list(command.transports or ())},
            )
            return self._reject(code, trace_id, refusal, adapter)
        pipeline = self._pipelines.get(code)
        if pipeline is None and self.resolvers and self._accepting:
            try:
                pipeline = await self._resolve(code)
            except BetrueError as unavailable:
                return self._reject(code, trace_id, unavailable, adapter)
        if pipeline is None or not self._accepting or not (type(params) is dict or isinstance(params, Mapping | None)):
            if pipeline is None:
                error: BetrueError = NotFound("Unknown command")
            elif not self._accepting:
                error = ServiceUnavailable("The application is shutting down")
            else:
                error = ValidationError("params must be a JSON object", details={"reason": "not_an_object"})
            return self._reject(code, trace_id, error, adapter)
        ctx = Context(
            self.app,
            command=self.commands[code],
            trace_id=trace_id,
            meta=meta,
            adapter=adapter,
            identity=identity,
            connection=connection,
            deadline=deadline,
            remote=remote,
        )
        self._inflight += 1
        task = asyncio.current_task()
        # A call made inside a call (a local client call) shares its task: the outermost one owns it.
        owned = task if task is not None and task not in self._calls else None
        if owned is not None:
            self._calls.add(owned)
        try:
            response = await pipeline(ctx, {} if params is None else params)
        except asyncio.CancelledError:
            if owned is None or owned not in self._overdue:
                raise
            owned.uncancel()  # cancelled by the lifecycle's stop: the caller still gets an answer
            response = Response.from_error(
                ServiceUnavailable("The server stopped before the call finished", details={"reason": "shutdown"})
            )
        finally:
            if owned is not None:
                self._calls.discard(owned)
                self._overdue.discard(owned)
            self._inflight -= 1
            if self._inflight == 0 and not self._accepting:
                self._idle.set()  # stop() is waiting for the calls in flight
            if ctx._scope is not None:  # most calls use no request-scoped service: no scope was made
                await ctx._scope.close()
        response.trace_id = ctx.trace_id  # the tracing stage may have replaced a generated id with its span's
        return response

    def _reject(self, code: str, trace_id: str, error: BetrueError, adapter: str) -> Response:
        self.on_rejected(code, trace_id, error, adapter=adapter)
        rejected = Response.from_error(error)
        rejected.trace_id = trace_id
        return rejected

    async def _resolve(self, code: str) -> CallNext | None:
        for resolver in self.resolvers:
            if await resolver(code):
                return self._pipelines.get(code)
        return None


def _origin(command: Command) -> str:
    handler = command.handler
    module = getattr(handler, "__module__", "?")
    name = getattr(handler, "__qualname__", repr(handler))
    return f"{module}.{name}"
