"""The client's routing table and settings: which transport serves each command group (``ROUTES``)."""

from __future__ import annotations

import re
from typing import Any

from pydantic import field_validator

from betrue.config import Config, env
from betrue.server.client._resilience import Policy, parse_policies

__all__ = ["ClientConfig", "parse_routes"]

_GROUP = re.compile(r"^(\*|[A-Za-z_][A-Za-z0-9_\-]*)$")
_TARGET = re.compile(r"^(local|[a-z][a-z0-9+.\-]*://\S+)$")


def parse_routes(text: str) -> dict[str, str]:
    """``group=target`` pairs split by commas; a target is ``local`` or a URL. ``*`` is every other group.

    Example:
        >>> parse_routes("game=http://127.0.0.1:3001, *=local")
        {'game': 'http://127.0.0.1:3001', '*': 'local'}
    """
    routes: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        group, sep, target = (piece.strip() for piece in item.partition("="))
        if not sep or not _GROUP.match(group) or not _TARGET.match(target):
            raise ValueError(f"{item!r}: expected group=target, target `local` or a URL such as http://host:port")
        if group in routes:
            raise ValueError(f"group {group!r} is routed twice")
        routes[group] = target.rstrip("/")
    return routes


class ClientConfig(Config):
    """Client calls: where each command group is served and how calls to it are protected."""

    routes: str = env(
        "ROUTES",
        "",
        description="Transport of each command group: group=target pairs, `*` for every other group; "
        "a target is `local` (in-process) or a URL. Groups not listed are local",
        example="game=http://127.0.0.1:3001,*=local",
    )
    timeout: float = env(
        "CLIENT_TIMEOUT",
        10.0,
        description="Seconds a call may take, retries included (0: no limit but the caller's)",
        ge=0,
    )
    retries: int = env(
        "CLIENT_RETRIES", 2, description="Extra attempts after 502/503/504, idempotent commands only", ge=0
    )
    backoff: float = env(
        "CLIENT_RETRY_BACKOFF", 0.05, description="Seconds: bound of the first retry's random delay", ge=0
    )
    backoff_max: float = env("CLIENT_RETRY_BACKOFF_MAX", 1.0, description="Seconds: bound of any retry's delay", ge=0)
    breaker_failures: int = env(
        "CLIENT_BREAKER_FAILURES",
        5,
        description="Failures in a row that open a target's circuit breaker (0: off)",
        ge=0,
    )
    breaker_reset: float = env(
        "CLIENT_BREAKER_RESET",
        5.0,
        description="Seconds an open breaker waits before letting one probe call through",
        ge=0,
    )
    bulkhead: int = env("CLIENT_BULKHEAD", 0, description="Calls at once per target (0: no limit); past it 429", ge=0)
    bulkhead_queue: int = env("CLIENT_BULKHEAD_QUEUE", 0, description="Calls that may wait for a bulkhead slot", ge=0)
    policies: str = env(
        "CLIENT_POLICIES",
        "",
        description="Per-group overrides of the settings above: group.option=value pairs; options: "
        "timeout, retries, backoff, backoff_max, idempotent, breaker_failures, breaker_reset, bulkhead, "
        "bulkhead_queue, bulkhead_scope (target|command)",
        example="game.retries=0,chat.bulkhead=20,chat.idempotent=true",
    )
    forward_headers: list[str] = env(
        "CLIENT_FORWARD_HEADERS",
        ["authorization"],
        description="Headers of the incoming call passed on to the commands it calls (the caller's credentials)",
    )
    local_json: bool = env(
        "CLIENT_LOCAL_JSON", True, description="Local calls round-trip params and results through JSON, as remote ones"
    )
    pool_size: int = env("CLIENT_POOL_SIZE", 100, description="HTTP connections kept per target", ge=1)
    connect_timeout: float = env(
        "CLIENT_CONNECT_TIMEOUT", 2.0, description="Seconds to open an HTTP connection", ge=0.001
    )
    keepalive: float = env("CLIENT_KEEPALIVE", 15.0, description="Seconds an idle HTTP connection is kept", ge=0)
    max_response: int = env(
        "CLIENT_MAX_RESPONSE", 64 * 1024 * 1024, description="Largest answer accepted from a target, in bytes", ge=1
    )

    @field_validator("routes")
    @classmethod
    def _check_routes(cls, value: str) -> str:
        parse_routes(value)
        return value

    @field_validator("policies")
    @classmethod
    def _check_policies(cls, value: str) -> str:
        parse_policies(value)
        return value

    def policy(self) -> Policy:
        """The default policy these settings describe."""
        return Policy(
            timeout=self.timeout or None,
            retries=self.retries,
            backoff=self.backoff,
            backoff_max=self.backoff_max,
            breaker_failures=self.breaker_failures,
            breaker_reset=self.breaker_reset,
            bulkhead=self.bulkhead,
            bulkhead_queue=self.bulkhead_queue,
        )

    def policy_changes(self) -> dict[str, dict[str, Any]]:
        """``CLIENT_POLICIES`` as changes to the default policy, by group."""
        return parse_policies(self.policies)
