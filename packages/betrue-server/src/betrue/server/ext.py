"""The public extension surface: what a backend package (betrue-nats, betrue-postgres, your own) builds on.

A backend implements one of these interfaces and is added as a service under the name the application
looks for (``events``, ``jobs``, an adapter name), or, for transports, is found by URL scheme through the
entry-point group ``betrue.transports`` (``nats = "betrue.nats:NatsTransport"``), so that installing the
package makes ``ROUTES="chat=nats://127.0.0.1:4222"`` work with no other code.

Backend packages import from ``betrue.server`` and ``betrue.server.ext`` only; an import-linter contract
in ``make lint`` holds them to it.

Example:
    >>> from betrue.server.ext import Event, EventBus, Subscription
    >>> class NullBus(EventBus):
    ...     async def publish(self, event: Event) -> None:
    ...         return None
    ...     def subscribe(self, pattern, callback):
    ...         return Subscription(pattern, lambda: None)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from betrue.server.adapters.base import Adapter
from betrue.server.client._calls import Envelope
from betrue.server.client.transports.base import Transport
from betrue.server.deadlines import deadline_from_meta
from betrue.server.docs._asyncapi import ExtendsAsyncApi
from betrue.server.events import Event, EventBus, EventCallback, Subscription, matches, name_matches
from betrue.server.gateway._gateway import Gateway
from betrue.server.gateway._upstreams import UPSTREAM_SOURCE_ENTRY_POINTS, Upstream, UpstreamSource
from betrue.server.jobs import Job, JobQueue, JobsConfig

__all__ = [
    "TRANSPORT_ENTRY_POINTS",
    "UPSTREAM_SOURCE_ENTRY_POINTS",
    "Adapter",
    "Envelope",
    "Event",
    "EventBus",
    "EventCallback",
    "ExtendsAsyncApi",
    "Gateway",
    "Job",
    "JobQueue",
    "JobsConfig",
    "Readiness",
    "ReportsReadiness",
    "Subscription",
    "Transport",
    "Upstream",
    "UpstreamSource",
    "deadline_from_meta",
    "matches",
    "name_matches",
]

TRANSPORT_ENTRY_POINTS = "betrue.transports"
"""Entry-point group: name = URL scheme, value = a callable ``(target: str) -> Transport``."""


@dataclass(frozen=True, slots=True)
class Readiness:
    """A service's answer to "can you take work now?" (``/_app/ready`` asks every service that reports one)."""

    ready: bool
    detail: str = ""


@runtime_checkable
class ReportsReadiness(Protocol):
    """A service that can say whether it is ready (a database pool, a NATS connection)."""

    def readiness(self) -> Readiness: ...
