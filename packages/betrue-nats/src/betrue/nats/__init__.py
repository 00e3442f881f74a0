"""betrue.nats: commands, events and discovery over NATS (nats-py); durable jobs on JetStream.

Example:
    >>> from betrue.server import Application
    >>> from betrue.nats import JetStreamJobQueue, NatsAdapter, NatsConnection, NatsEventBus
    >>> app = Application("chat")
    >>> _ = app.add_service(NatsConnection)            # service "nats": NATS_URL, reconnects, drain
    >>> _ = app.add_service(NatsAdapter)               # commands on betrue.cmd.chat.<code>
    >>> _ = app.replace_service("events", NatsEventBus)  # events reach every instance
    >>> _ = app.replace_service("jobs", JetStreamJobQueue)  # jobs on JetStream: JOBS_NATS_URL
    >>> # and in another app: ROUTES="chat=nats://127.0.0.1:4222/chat"
"""

from betrue.nats.adapter import NatsAdapter, NatsAdapterConfig
from betrue.nats.config import NatsConfig
from betrue.nats.connection import NatsConnection
from betrue.nats.discovery import NatsUpstreams
from betrue.nats.embedded import EmbeddedNats, find_nats_server
from betrue.nats.events import NatsEventBus, NatsEventsConfig
from betrue.nats.jobs import JetStreamJobQueue, JetStreamJobsConfig
from betrue.nats.stats import SubjectStats, SubjectTable
from betrue.nats.subjects import command_subject, event_subject
from betrue.nats.transport import NatsTransport, nats_transport, parse_target

__all__ = [
    "EmbeddedNats",
    "JetStreamJobQueue",
    "JetStreamJobsConfig",
    "NatsAdapter",
    "NatsAdapterConfig",
    "NatsConfig",
    "NatsConnection",
    "NatsEventBus",
    "NatsEventsConfig",
    "NatsTransport",
    "NatsUpstreams",
    "SubjectStats",
    "SubjectTable",
    "command_subject",
    "event_subject",
    "find_nats_server",
    "nats_transport",
    "parse_target",
]
