"""Gateway upstream settings: ``GATEWAY_UPSTREAMS`` items and what each upstream takes."""

from __future__ import annotations

import pytest

from betrue.config import ConfigError
from betrue.server.gateway._upstreams import GatewayConfig, Upstream, parse_upstreams


def test_upstreams_are_urls_or_group_url_pairs() -> None:
    assert parse_upstreams(" game=http://127.0.0.1:3001/ ,http://10.0.0.2:3002") == [
        ("game", "http://127.0.0.1:3001"),
        ("*", "http://10.0.0.2:3002"),
    ]
    with pytest.raises(ValueError, match="expected a URL"):
        parse_upstreams("game=somewhere")
    with pytest.raises(ConfigError, match="GATEWAY_UPSTREAMS"):
        GatewayConfig.load(environ={"GATEWAY_UPSTREAMS": "nowhere"}, env_file=())


def test_an_upstream_takes_its_groups_and_named_commands_only() -> None:
    upstream = Upstream("http://127.0.0.1:3001", groups={"game", "chat"}, names={"game": {"load"}, "chat": None})
    assert upstream.wants("game/load")
    assert not upstream.wants("game/save")
    assert upstream.wants("chat/anything")
    assert not upstream.wants("shop/buy")
    assert not upstream.wants("_app/commands")
    everything = Upstream("http://127.0.0.1:3002", groups={"*"}, names={"*": None})
    assert everything.wants("shop/buy")
