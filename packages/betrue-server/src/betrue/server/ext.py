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
from betrue.server.events import Event, EventBus, EventCallback, Subscription, matches, name_matches
from betrue.server.jobs import Job, JobQueue, JobsConfig

__all__ = [
    "TRANSPORT_ENTRY_POINTS",
    "Adapter",
    "Envelope",
    "Event",
    "EventBus",
    "EventCallback",
    "Job",
    "JobQueue",
    "JobsConfig",
    "Readiness",
    "ReportsReadiness",
    "StartError",
    "Subscription",
    "Transport",
    "deadline_from_meta",
    "matches",
    "name_matches",
]

TRANSPORT_ENTRY_POINTS = "betrue.transports"
"""Entry-point group: name = URL scheme, value = a callable ``(target: str) -> Transport``."""


class StartError(Exception):
    """A service cannot start, for a reason its message fully states (a template error, a bad file).

    ``betrue run`` prints it on one line, without a traceback, and exits with code 1.

    Example:
        >>> raise StartError("template index.tmpl.html line 3: config('TITEL'): no such config value")
        Traceback (most recent call last):
        ...
        betrue.server.ext.StartError: template index.tmpl.html line 3: config('TITEL'): no such config value
    """


@dataclass(frozen=True, slots=True)
class Readiness:
    """A service's answer to "can you take work now?" (``/_app/ready`` asks every service that reports one)."""

    ready: bool
    detail: str = ""


@runtime_checkable
class ReportsReadiness(Protocol):
    """A service that can say whether it is ready (a database pool, a NATS connection)."""

    def readiness(self) -> Readiness: ...
