"""The upstreams of a gateway: where they are, which groups and commands to take, and the settings."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from typing import Protocol

from pydantic import field_validator

from betrue.config import Config, env
from betrue.server.client.transports.base import Transport

__all__ = [
    "UPSTREAM_SOURCE_ENTRY_POINTS",
    "GatewayConfig",
    "Upstream",
    "UpstreamSource",
    "parse_upstreams",
    "split_sources",
]

UPSTREAM_SOURCE_ENTRY_POINTS = "betrue.upstream_sources"
"""Entry-point group: name = a word in ``GATEWAY_UPSTREAMS`` (``nats``), value = ``(gateway) -> UpstreamSource``."""

_SOURCE = re.compile(r"^[a-z][a-z0-9_\-]*$")


class UpstreamSource(Protocol):
    """Finds upstreams by itself and keeps the gateway told (``GATEWAY_UPSTREAMS=nats``, in betrue-nats).

    It calls ``gateway.declare(...)`` and ``gateway.discover(upstream)`` for an app that appears and
    ``gateway.mark_down(upstream)`` for one that leaves; the gateway starts it after reading its own list.
    """

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


def split_sources(text: str) -> tuple[list[str], str]:
    """The names of upstream sources (bare words, ``nats``) and the rest of ``GATEWAY_UPSTREAMS``.

    Example:
        >>> split_sources("nats, game=http://127.0.0.1:3001")
        (['nats'], 'game=http://127.0.0.1:3001')
    """
    items = [part.strip() for part in text.split(",") if part.strip()]
    return [item for item in items if _SOURCE.fullmatch(item)], ",".join(
        item for item in items if not _SOURCE.fullmatch(item)
    )


def parse_upstreams(text: str) -> list[tuple[str, str]]:
    """``[group=]url`` items split by commas, as (group, url); no group (``*``) means every group it has.

    Example:
        >>> parse_upstreams("game=http://127.0.0.1:3001, http://127.0.0.1:3002")
        [('game', 'http://127.0.0.1:3001'), ('*', 'http://127.0.0.1:3002')]
    """
    found: list[tuple[str, str]] = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        group, _, url = item.partition("=") if "=" in item.split("://", 1)[0] else ("*", "", item)
        group, url = group.strip(), url.strip().rstrip("/")
        if "://" not in url or not group:
            raise ValueError(f"{item!r}: expected a URL or group=URL (http://host:port)")
        found.append((group, url))
    return found


class GatewayConfig(Config):
    """Gateway: the upstream apps whose commands this app serves as its own."""

    upstreams: str = env(
        "GATEWAY_UPSTREAMS",
        "",
        description="Upstream apps: a URL serves every group the app has, group=URL only that group; "
        "a word names a source that finds them (nats: betrue-nats discovery)",
        example="game=http://127.0.0.1:3001,chat=http://127.0.0.1:3002",
    )
    interval: float = env(
        "GATEWAY_DISCOVERY_INTERVAL", 30.0, description="Seconds between readings of every upstream's commands", ge=0
    )
    retry_interval: float = env(
        "GATEWAY_RETRY_INTERVAL", 1.0, description="Seconds between tries to reach an upstream that is down", ge=0.01
    )
    timeout: float = env(
        "GATEWAY_DISCOVERY_TIMEOUT", 2.0, description="Seconds an upstream has to list its commands", ge=0.01
    )

    @field_validator("upstreams")
    @classmethod
    def _check_upstreams(cls, value: str) -> str:
        names, listed = split_sources(value)
        parse_upstreams(listed)
        from importlib.metadata import entry_points

        for name in names:
            if not entry_points(group=UPSTREAM_SOURCE_ENTRY_POINTS, name=name):
                raise ValueError(
                    f"{name!r}: not a URL, and no installed package provides an upstream source of that name"
                )
        return value


@dataclass(slots=True)
class Upstream:
    """One upstream app: where it is, which of its groups (``*``: all) and commands (None: all) to serve."""

    target: str | Transport
    groups: set[str] = field(default_factory=set)
    names: dict[str, set[str] | None] = field(default_factory=dict)
    from_config: bool = False
    """Named by ``GATEWAY_UPSTREAMS``: forgotten at stop, read again at the next start."""
    renames: dict[str, str] = field(default_factory=dict)
    """Upstream code → the code this gateway publishes it under (``proxy(..., rename={"game/load": "load"})``)."""
    up: bool = False
    tried: bool = False
    known_groups: set[str] = field(default_factory=set)
    next_try: float = 0.0
    discovering: asyncio.Future[bool] | None = None

    def wants(self, code: str) -> bool:
        group, _, name = code.partition("/")
        if code.startswith("_"):
            return False
        listed = self.names.get(group, self.names.get("*"))
        return (group in self.groups or "*" in self.groups) and (listed is None or name in listed)

    def published(self, code: str) -> str:
        """The code this gateway serves the upstream's ``code`` under."""
        return self.renames.get(code, code)

    @property
    def key(self) -> str:
        return self.target if isinstance(self.target, str) else self.target.target
