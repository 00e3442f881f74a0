"""Upstream sources: words in GATEWAY_UPSTREAMS name installed packages that find upstreams by themselves."""

from __future__ import annotations

import pytest

from betrue.config import ConfigError
from betrue.server.gateway import GatewayConfig
from betrue.server.gateway._upstreams import split_sources


def test_words_are_sources_and_the_rest_are_upstreams() -> None:
    assert split_sources("nats, game=http://127.0.0.1:3001,http://10.0.0.2:3002") == (
        ["nats"],
        "game=http://127.0.0.1:3001,http://10.0.0.2:3002",
    )
    assert split_sources("") == ([], "")


def test_a_source_no_installed_package_provides_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="no installed package provides an upstream source"):
        GatewayConfig.load(environ={"GATEWAY_UPSTREAMS": "zookeeper"}, env_file=())
