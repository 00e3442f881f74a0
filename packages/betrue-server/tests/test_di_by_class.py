"""Services asked for by class: by the class that builds them, a subclass of it, or a value of it."""

from __future__ import annotations

from typing import Any

import pytest

from betrue.server import DependencyError, ServiceContainer, ServiceSpec
from betrue.server.di import Service


class Store(Service):
    name = "store"


class SqlStore(Store):
    name = "sql"


class Mailer:
    def __init__(self, sender: str = "noreply") -> None:
        self.sender = sender


def _container(*specs: ServiceSpec) -> ServiceContainer:
    container = ServiceContainer()
    for spec in specs:
        container.add(spec)
    return container


def test_a_class_finds_the_service_it_builds() -> None:
    container = _container(ServiceSpec.build(Store))
    assert container.name_of(Store) == "store"


def test_a_base_class_finds_the_one_service_built_by_a_subclass() -> None:
    container = _container(ServiceSpec.build(SqlStore))
    assert container.name_of(Store) == "sql"
    assert container.name_of(SqlStore) == "sql"


def test_a_value_is_found_by_its_class() -> None:
    container = _container(ServiceSpec.build(Mailer("shop"), name="mailer"))
    assert container.name_of(Mailer) == "mailer"


def test_no_service_of_a_class_names_the_class_and_the_way_out() -> None:
    container = _container(ServiceSpec.build(Store))
    with pytest.raises(DependencyError, match=r"no service is a Mailer: ask for it by name"):
        container.name_of(Mailer)


def test_several_services_of_a_class_are_named() -> None:
    container = _container(ServiceSpec.build(Store), ServiceSpec.build(SqlStore))
    with pytest.raises(DependencyError, match=r"services \['store', 'sql'\] are each a Store"):
        container.name_of(Store)
    assert container.name_of(SqlStore) == "sql"  # the narrower class is still one service


def test_replacing_a_service_forgets_what_was_found_before() -> None:
    container = _container(ServiceSpec.build(Store))
    assert container.name_of(Store) == "store"
    container.replace(ServiceSpec.build(Mailer(), name="store"))
    with pytest.raises(DependencyError):
        container.name_of(Store)
    assert container.name_of(Mailer) == "store"


async def test_a_factory_function_is_found_by_what_it_built_once_started() -> None:
    def make_mailer() -> Mailer:
        return Mailer("factory")

    container = _container(ServiceSpec.build(make_mailer, name="mailer", factory=make_mailer))
    with pytest.raises(DependencyError):
        container.name_of(Mailer)  # before start a function says nothing of what it returns
    container.plan()
    await container.start({})
    try:
        assert container.name_of(Mailer) == "mailer"
        started: Any = container.get(container.name_of(Mailer))
        assert started.sender == "factory"
    finally:
        await container.stop()


def test_plan_forgets_what_was_found_before() -> None:
    container = _container(ServiceSpec.build(Store))
    assert container.name_of(Store) == "store"
    container.specs.pop("store")  # as TestApp does when it removes an override it added
    container.plan()
    with pytest.raises(DependencyError):
        container.name_of(Store)
