"""The routing table and client settings: ``ROUTES``, ``CLIENT_*`` and per-group ``CLIENT_POLICIES``."""

from __future__ import annotations

import pytest

from betrue.config import ConfigError
from betrue.server.client._config import ClientConfig, parse_routes
from betrue.server.client._resilience import Policy


def test_routes_map_groups_to_local_or_urls() -> None:
    assert parse_routes(" game = http://127.0.0.1:3001/ , *=local,chat=nats://n1:4222") == {
        "game": "http://127.0.0.1:3001",
        "*": "local",
        "chat": "nats://n1:4222",
    }
    assert parse_routes("") == {}


@pytest.mark.parametrize("text", ["game", "game=", "=local", "ga me=local", "game=somewhere", "a=local,a=local"])
def test_bad_routes_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"."):
        parse_routes(text)


def test_the_config_gives_the_default_policy_and_the_group_changes() -> None:
    environ = {
        "CLIENT_TIMEOUT": "0",
        "CLIENT_RETRIES": "4",
        "CLIENT_BULKHEAD": "10",
        "CLIENT_POLICIES": "game.retries=0,game.timeout=2",
    }
    config = ClientConfig.load(environ=environ, env_file=())
    assert config.policy() == Policy(timeout=None, retries=4, bulkhead=10)
    assert config.policy_changes() == {"game": {"retries": 0, "timeout": 2.0}}


def test_config_errors_name_the_variable() -> None:
    with pytest.raises(ConfigError) as raised:
        ClientConfig.load(environ={"ROUTES": "game=ftp", "CLIENT_POLICIES": "game.colour=red"}, env_file=())
    text = str(raised.value)
    assert "ROUTES" in text
    assert "CLIENT_POLICIES" in text
