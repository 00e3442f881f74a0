"""Finding connections by their attributes."""

from __future__ import annotations

from typing import Any, cast

import pytest

from betrue.server import matches
from betrue.ws import Connection, ConnectionRegistry


def _connection(registry: ConnectionRegistry, **attributes: Any) -> Connection:
    connection = Connection(cast(Any, None), registry=registry)
    registry.add(connection)
    rooms = attributes.pop("rooms", ())
    connection.set(**attributes)
    connection.join(*rooms)
    return connection


@pytest.fixture
def registry() -> ConnectionRegistry:
    return ConnectionRegistry()


def test_select_finds_exactly_what_matches_says(registry: ConnectionRegistry) -> None:
    people = [
        _connection(registry, user="ann", rooms=["r1"]),
        _connection(registry, user="bob", rooms=["r1", "r2"], team="blue"),
        _connection(registry, user="ann", rooms=["r2"]),
        _connection(registry),
        _connection(registry, user=["carl", "dora"], level=3),
    ]
    filters: list[dict[str, Any] | None] = [
        None,
        {},
        {"user": "ann"},
        {"room": "r1"},
        {"rooms": ["r2"]},
        {"room": "r2", "user": "ann"},
        {"user": ["bob", "dora"]},
        {"team": "blue", "room": "r1"},
        {"level": 3},
        {"connection": people[3].id},
        {"room": "nowhere"},
        {"user": []},
    ]
    for to in filters:
        expected = {c.id for c in people if matches(to, c.attributes)}
        assert {c.id for c in registry.select(to)} == expected, to


def test_changes_of_attributes_move_a_connection_in_the_index(registry: ConnectionRegistry) -> None:
    ann = _connection(registry, user="ann", rooms=["r1"])
    ann.leave("r1")
    ann.join("r2")
    ann.set(user="anna")
    assert registry.select({"room": "r1"}) == []
    assert registry.select({"room": "r2"}) == [ann]
    assert registry.select({"user": "ann"}) == []
    assert registry.select({"user": "anna"}) == [ann]
    ann.set(user=None)
    assert registry.select({"user": "anna"}) == []
    assert "user" not in ann.attributes


def test_a_removed_connection_is_found_no_more(registry: ConnectionRegistry) -> None:
    ann = _connection(registry, user="ann", rooms=["r1"])
    registry.remove(ann)
    ann.join("r2")  # a late change of a closed connection must not bring it back
    assert len(registry) == 0
    assert ann not in registry
    assert registry.select({"user": "ann"}) == []
    assert registry.select({"room": "r2"}) == []
    assert registry.select(None) == []
    assert registry.get(ann.id) is None
