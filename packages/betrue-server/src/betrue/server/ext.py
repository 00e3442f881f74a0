"""The public extension surface: what a backend package (betrue-nats, betrue-postgres, your own) builds on.

A backend implements one of these interfaces and is added as a service under the name the application
looks for (``events``, ``jobs``, an adapter name), or, for transports, is found by URL scheme through the
entry-point group ``betrue.transports`` (``nats = "betrue.nats:NatsTransport"``), so that installing the
package makes ``ROUTES="chat=nats://127.0.0.1:4222"`` work with no other code.

What each kind of backend implements and where it plugs in:

* an event bus: ``EventBus`` (``publish``, ``subscribe``), added as service ``events``;
* a job queue: ``JobQueue``, added as service ``jobs``;
* a transport (the client's side of a call): ``Transport`` (``call(code, params, meta, deadline)`` →
  ``Envelope``), registered by URL scheme through the entry-point group ``TRANSPORT_ENTRY_POINTS`` or
  ``app.client.register_transport(scheme, factory)``;
* an adapter (the serving side): ``Adapter`` (``serve``, ``close_listeners``, ``close``), added as a
  service; it calls ``app.handle(code, params, meta, adapter=..., connection=...)``;
* a push target: a ``Connection`` (what ``ctx.connection`` is; ``send`` pushes an event to it);
* a pipeline stage: ``app.add_stage(slot, factory)``, ``slot`` one of ``PLUGGABLE`` (order: ``PIPELINE``);
* a gateway upstream source (``GATEWAY_UPSTREAMS=<name>``): an ``UpstreamSource`` factory ``(Gateway) -> source``
  registered under the entry-point group ``UPSTREAM_SOURCE_ENTRY_POINTS``; it calls ``gateway.declare``,
  ``gateway.discover`` and ``gateway.mark_down`` as upstreams come and go;
* AsyncAPI: a started service with ``extend_asyncapi(document, events)`` (``ExtendsAsyncApi``) adds servers
  and channels to the document;
* a service that can say whether it takes work now (a pool, a connection): ``readiness()`` → ``Readiness``
  (the ``ReportsReadiness`` protocol);
* a ``betrue.cli`` subcommand that works on an app: ``load_app("module:app")``, as ``betrue run`` does.

Backend packages import from ``betrue.config``, ``betrue.server`` and ``betrue.server.ext`` only; an
import-linter contract in ``make lint`` holds them to it.

Example:
    >>> from betrue.server.ext import Event, EventBus, Subscription
    >>> class NullBus(EventBus):
    ...     async def publish(self, event: Event) -> None:
    ...         return None
    ...     def subscribe(self, pattern, callback):
    ...         return Subscription(pattern, lambda: None)
"""

from __future__ import annotations

from betrue.server._pipeline import PIPELINE, PLUGGABLE
from betrue.server.adapters._exhaustion import RateLimitedLog
from betrue.server.adapters.base import Adapter
from betrue.server.cli import load_app
from betrue.server.client._calls import Call, ClientMiddleware, Send
from betrue.server.client._client import TransportFactory
from betrue.server.client.transports.base import TRANSPORT_ENTRY_POINTS, Transport
from betrue.server.deadlines import TIMEOUT_HEADER, deadline_from_meta, timeout_header
from betrue.server.docs._asyncapi import ExtendsAsyncApi
from betrue.server.errors import StartError, error_for_code
from betrue.server.events import Event, EventBus, EventCallback, Subscription, matches, name_matches
from betrue.server.gateway._gateway import Gateway
from betrue.server.gateway._upstreams import UPSTREAM_SOURCE_ENTRY_POINTS, Upstream, UpstreamSource
from betrue.server.jobqueue import Job, JobQueue, JobsConfig, JobState
from betrue.server.readiness import Readiness, ReportsReadiness
from betrue.server.response import error_envelope, success_envelope
from betrue.server.router import Router, StageFactory
from betrue.server.types import Caller, CallPath, Connection, Envelope

__all__ = [
    "PIPELINE",
    "PLUGGABLE",
    "TIMEOUT_HEADER",
    "TRANSPORT_ENTRY_POINTS",
    "UPSTREAM_SOURCE_ENTRY_POINTS",
    "Adapter",
    "Call",
    "CallPath",
    "Caller",
    "ClientMiddleware",
    "Connection",
    "Envelope",
    "Event",
    "EventBus",
    "EventCallback",
    "ExtendsAsyncApi",
    "Gateway",
    "Job",
    "JobQueue",
    "JobState",
    "JobsConfig",
    "RateLimitedLog",
    "Readiness",
    "ReportsReadiness",
    "Router",
    "Send",
    "StageFactory",
    "StartError",
    "Subscription",
    "Transport",
    "TransportFactory",
    "Upstream",
    "UpstreamSource",
    "deadline_from_meta",
    "error_envelope",
    "error_for_code",
    "load_app",
    "matches",
    "name_matches",
    "success_envelope",
    "timeout_header",
]
