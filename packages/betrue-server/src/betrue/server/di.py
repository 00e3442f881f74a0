"""Services and the DI container: dependency order, scopes, lifecycle (start/stop)."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from loguru import logger

from betrue.config import Config
from betrue.server.types import Scope

__all__ = ["DependencyError", "RequestScope", "Service", "ServiceContainer", "ServiceSpec"]


class DependencyError(Exception):
    """A mistake in the application's services: a cycle, a missing dependency, a duplicate name."""


class Service:
    """Convenience base for services; any class, factory or plain value works too.

    The container calls ``Service(config=<loaded config>, **deps)``, then ``await start()``; what
    ``start`` returns (or the instance itself when it returns None) is what DI hands out.

    Example:
        >>> class Greeter(Service):
        ...     name = "greeter"
        ...     async def start(self):
        ...         return self
        ...     def hello(self, who: str) -> str:
        ...         return f"hello {who}"
    """

    name: ClassVar[str] = ""
    deps: ClassVar[Sequence[str] | Mapping[str, str]] = ()
    config_class: ClassVar[type[Config] | None] = None
    scope: ClassVar[Scope] = "singleton"

    def __init__(self, config: Any = None, **deps: Any) -> None:
        self.config = config
        self.services = deps

    async def start(self) -> Any:
        return None

    async def stop(self) -> None:
        return None


@dataclass(slots=True)
class ServiceSpec:
    """How to build one named service. Built by ``Application.add_service``."""

    name: str
    factory: Callable[..., Any] | None = None
    value: Any = None
    deps: dict[str, str] = field(default_factory=dict)
    """Keyword argument name → service name."""
    config_class: type[Config] | None = None
    config: Mapping[str, Any] = field(default_factory=dict)
    context: str | None = None
    description: str | None = None
    scope: Scope = "singleton"

    @classmethod
    def build(
        cls,
        target: Any,
        *,
        name: str | None = None,
        deps: Sequence[str] | Mapping[str, str] | None = None,
        config: Mapping[str, Any] | None = None,
        config_class: type[Config] | None = None,
        context: str | None = None,
        description: str | None = None,
        scope: Scope | None = None,
        factory: Callable[..., Any] | None = None,
    ) -> ServiceSpec:
        """Read defaults from a class's attributes (``name``, ``deps``, ``config_class``, ``scope``)."""
        is_factory = factory is not None or inspect.isclass(target)
        resolved_name = name or getattr(target, "name", "") or ""
        if not resolved_name:
            raise DependencyError(f"service {target!r} needs a name (name=... or a `name` class attribute)")
        raw_deps = deps if deps is not None else getattr(target, "deps", ()) if is_factory else ()
        dep_map = dict(raw_deps) if isinstance(raw_deps, Mapping) else {d.replace("-", "_"): d for d in raw_deps}
        class_scope: Scope = getattr(target, "scope", "singleton") if is_factory else "singleton"
        return cls(
            name=resolved_name,
            factory=factory or (target if is_factory else None),
            value=None if is_factory else target,
            deps=dep_map,
            config_class=config_class or (getattr(target, "config_class", None) if is_factory else None),
            config=dict(config or {}),
            context=context,
            description=description,
            scope=scope or class_scope,
        )


@dataclass(slots=True)
class _Started:
    instance: Any
    held: Any


class ServiceContainer:
    """Holds service specs, plans their start order and owns singleton instances."""

    def __init__(self) -> None:
        self.specs: dict[str, ServiceSpec] = {}
        self.configs: dict[str, Config] = {}
        self._order: list[str] = []
        self._scopes: dict[str, Scope] = {}
        self._started: dict[str, _Started] = {}
        self._by_class: dict[type, str] = {}

    def add(self, spec: ServiceSpec) -> None:
        if spec.name in self.specs:
            raise DependencyError(f"duplicate service name {spec.name!r}")
        self.specs[spec.name] = spec
        self._by_class.clear()

    def replace(self, spec: ServiceSpec) -> None:
        """Swap a service for another implementation (tests, overrides)."""
        self.specs[spec.name] = spec
        self._by_class.clear()

    def name_of(self, cls: type) -> str:
        """The name of the one service that is a ``cls``: built by it (or a subclass), or a value of it.

        Raises DependencyError when no service is one, or when several are (ask for those by name).

        Example:
            >>> container = ServiceContainer()
            >>> container.add(ServiceSpec.build(dict, name="settings"))
            >>> container.name_of(dict)
            'settings'
        """
        name = self._by_class.get(cls)
        if name is not None:
            return name
        found = [spec.name for spec in self.specs.values() if _provides(spec, cls, self._started.get(spec.name))]
        if len(found) != 1:
            what = "no service is" if not found else f"services {found} are each"
            raise DependencyError(f"{what} a {cls.__qualname__}: ask for it by name (ctx.service('<name>'))")
        self._by_class[cls] = found[0]
        return found[0]

    def plan(self) -> list[str]:
        """Check the graph and return the start order; resolves ``auto`` scopes.

        Raises DependencyError naming every missing dependency, or the services of a cycle.
        """
        missing = [
            f"{name!r} needs {dep!r}"
            for name, spec in self.specs.items()
            for dep in spec.deps.values()
            if dep not in self.specs
        ]
        if missing:
            raise DependencyError("missing dependency: " + "; ".join(missing))
        order: list[str] = []
        state: dict[str, int] = {}  # 1 = visiting, 2 = done

        def visit(name: str, path: list[str]) -> None:
            if state.get(name) == 2:
                return
            if state.get(name) == 1:
                cycle = [*path[path.index(name) :], name]
                raise DependencyError("dependency cycle: " + " -> ".join(cycle))
            state[name] = 1
            for dep in self.specs[name].deps.values():
                visit(dep, [*path, name])
            state[name] = 2
            order.append(name)

        for name in self.specs:
            visit(name, [])
        self._order = order
        self._scopes = {}
        self._by_class.clear()
        for name in order:  # dependencies come first, so their scope is already known
            spec = self.specs[name]
            scope = spec.scope
            if scope == "auto":
                scope = "request" if any(self._scopes[d] == "request" for d in spec.deps.values()) else "singleton"
            elif scope == "singleton":
                bad = [d for d in spec.deps.values() if self._scopes[d] == "request"]
                if bad:
                    raise DependencyError(f"singleton {name!r} depends on request-scoped {bad}; make it 'auto'")
            self._scopes[name] = scope
        return order

    def scope_of(self, name: str) -> Scope:
        return self._scopes[name]

    async def start(self, configs: Mapping[str, Config]) -> None:
        """Start every singleton in dependency order; on failure stop what had started."""
        self.configs = dict(configs)
        try:
            for name in self._order:
                if self._scopes[name] == "singleton":
                    self._started[name] = await self._build(name, self.get)
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> list[tuple[str, BaseException]]:
        """Stop started services in reverse order; returns the failures (each one is logged by the caller)."""
        failures: list[tuple[str, BaseException]] = []
        for name in reversed(list(self._started)):
            started = self._started.pop(name)
            try:
                await _stop(started.instance)
            except Exception as error:
                failures.append((name, error))
        return failures

    def get(self, name: str) -> Any:
        """A started singleton's value."""
        try:
            return self._started[name].held
        except KeyError:
            if name in self.specs and self._scopes.get(name) == "request":
                raise DependencyError(f"{name!r} is request-scoped: use `await ctx.service({name!r})`") from None
            raise DependencyError(f"no started service {name!r}") from None

    def has(self, name: str) -> bool:
        return name in self._started

    def request_scope(self) -> RequestScope:
        return RequestScope(self)

    async def _build(self, name: str, resolve: Callable[[str], Any]) -> _Started:
        spec = self.specs[name]
        if spec.factory is None:
            return _Started(spec.value, spec.value)
        kwargs = {arg: resolve(dep) for arg, dep in spec.deps.items()}
        if spec.config_class is not None:
            kwargs["config"] = self.configs[name]
        instance = spec.factory(**kwargs)
        if inspect.isawaitable(instance):
            instance = await instance
        held = None
        start = getattr(instance, "start", None)
        if callable(start):
            held = await start()
        return _Started(instance, instance if held is None else held)


class RequestScope:
    """Request-scoped services of one call: built on first use, stopped when the call ends."""

    __slots__ = ("_built", "_container")

    def __init__(self, container: ServiceContainer) -> None:
        self._container = container
        self._built: dict[str, _Started] = {}

    async def get(self, name: str) -> Any:
        container = self._container
        if name not in container.specs:
            raise DependencyError(f"no service {name!r}")
        if container.scope_of(name) == "singleton":
            return container.get(name)
        if name not in self._built:
            spec = container.specs[name]
            for dep in spec.deps.values():  # build request-scoped dependencies first
                await self.get(dep)
            self._built[name] = await container._build(name, self._resolved)
        return self._built[name].held

    def _resolved(self, name: str) -> Any:
        started = self._built.get(name)
        return started.held if started is not None else self._container.get(name)

    async def close(self) -> None:
        """Stop this call's services in reverse order; a failing ``stop()`` is logged, never raised."""
        if not self._built:
            return
        for name in reversed(list(self._built)):
            try:
                await _stop(self._built.pop(name).instance)
            except Exception:
                logger.opt(exception=True).error("request-scoped service {!r} failed to stop", name)


def _provides(spec: ServiceSpec, cls: type, started: _Started | None) -> bool:
    if started is not None:
        return isinstance(started.held, cls)
    if spec.factory is None:
        return isinstance(spec.value, cls)
    return isinstance(spec.factory, type) and issubclass(spec.factory, cls)


async def _stop(instance: Any) -> None:
    stop = getattr(instance, "stop", None)
    if callable(stop):
        result = stop()
        if inspect.isawaitable(result):
            await result
