"""Proxy commands built from an upstream's ``_app/commands``: schemas kept, unusable ones dropped."""

from __future__ import annotations

import pytest

from betrue.server import BadGateway, Conflict, NotFound
from betrue.server.gateway._proxy import describe_upstream, proxy_command


@pytest.mark.parametrize("result", [None, [], {"commands": "all"}, {"app": "x"}])
def test_an_answer_without_a_command_list_is_a_bad_gateway(result: object) -> None:
    with pytest.raises(BadGateway):
        describe_upstream(result)


def test_items_that_are_not_commands_are_skipped() -> None:
    listed = describe_upstream(
        {"commands": [{"code": "game/load"}, {"code": 7}, "chat/post", {"code": "a b"}, {"code": "load"}]}
    )
    assert listed == [{"code": "game/load"}, {"code": "load"}]  # a single segment is a code too


def test_a_proxy_command_carries_the_upstream_description() -> None:
    schema = {"type": "object", "properties": {"id": {"type": "integer"}}}
    command = proxy_command(
        {
            "code": "game/load",
            "description": "Load a game",
            "input": schema,
            "output": {"type": "object"},
            "errors": ["NotFound", "Conflict", "SomethingUnknown"],
            "auth": ["admin"],
            "idempotent": True,
        },
        "http://127.0.0.1:3001",
    )
    assert (command.code, command.description, command.input) == ("game/load", "Load a game", schema)
    assert command.errors == (NotFound, Conflict)
    assert command.auth == ["admin"]
    assert command.idempotent is True


def test_unusable_schemas_and_auth_rules_are_dropped() -> None:
    command = proxy_command(
        {"code": "game/load", "input": {"type": "strng"}, "output": "object", "auth": {"weird": 1}}, "http://x:1"
    )
    assert command.input is None
    assert command.output is None
    assert command.auth is None
