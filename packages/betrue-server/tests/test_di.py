"""The DI container: specs from classes, values and factories; what start() returns; request scopes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import pytest

from betrue.server import DependencyError, Service, ServiceContainer, ServiceSpec


class Pool(Service):
    name = "pool"

    async def start(self) -> dict[str, str]:
        return {"connection": "open"}  # what DI hands out instead of the instance


class Repo(Service):
    name = "repo"
    deps: ClassVar[Mapping[str, str]] = {"db": "pool"}  # keyword argument → service name


def test_a_spec_reads_the_class_attributes() -> None:
    spec = ServiceSpec.build(Repo)
    assert (spec.name, spec.deps, spec.scope, spec.factory) == ("repo", {"db": "pool"}, "singleton", Repo)
    renamed = ServiceSpec.build(Repo, name="users", deps=["pool"], scope="auto")
    assert (renamed.name, renamed.deps, renamed.scope) == ("users", {"pool": "pool"}, "auto")


def test_a_value_is_a_service_as_it_is_and_needs_a_name() -> None:
    value = {"answer": 42}
    spec = ServiceSpec.build(value, name="settings")
    assert spec.value is value
    assert spec.factory is None
    with pytest.raises(DependencyError, match="needs a name"):
        ServiceSpec.build(value)


def test_dashed_dependency_names_become_keyword_arguments() -> None:
    assert ServiceSpec.build(Repo, deps=["game-db"]).deps == {"game_db": "game-db"}


async def test_start_return_values_and_mapped_dependencies() -> None:
    container = ServiceContainer()
    container.add(ServiceSpec.build(Pool))
    container.add(ServiceSpec.build(Repo))

    async def make_cache(**deps: Any) -> dict[str, Any]:  # an async factory works too
        return {"cache": True, **deps}

    container.add(ServiceSpec.build(None, name="cache", factory=make_cache, deps=["repo"]))
    assert container.plan() == ["pool", "repo", "cache"]
    await container.start({})
    assert container.get("pool") == {"connection": "open"}
    assert container.get("repo").services == {"db": {"connection": "open"}}
    assert container.get("cache")["repo"] is container.get("repo")
    assert await container.stop() == []
    assert not container.has("pool")


async def test_a_failing_start_stops_what_had_started() -> None:
    stopped: list[str] = []

    class First(Service):
        name = "first"

        async def stop(self) -> None:
            stopped.append("first")

    class Broken(Service):
        name = "broken"
        deps = ("first",)

        async def start(self) -> None:
            raise RuntimeError("cannot start")

    container = ServiceContainer()
    container.add(ServiceSpec.build(First))
    container.add(ServiceSpec.build(Broken))
    container.plan()
    with pytest.raises(RuntimeError, match="cannot start"):
        await container.start({})
    assert stopped == ["first"]


async def test_request_scoped_services_come_from_a_request_scope() -> None:
    container = ServiceContainer()
    container.add(ServiceSpec.build(Pool))
    container.add(ServiceSpec.build(Repo, scope="request"))
    container.plan()
    await container.start({})
    with pytest.raises(DependencyError, match="request-scoped"):
        container.get("repo")
    scope = container.request_scope()
    repo = await scope.get("repo")
    assert await scope.get("repo") is repo
    assert await scope.get("pool") is container.get("pool")
    with pytest.raises(DependencyError, match="no service 'ghost'"):
        await scope.get("ghost")
    await scope.close()
    assert await container.request_scope().get("repo") is not repo
