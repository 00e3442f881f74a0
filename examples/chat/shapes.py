"""The chat in either shape, in this process (tests, benchmarks): one process, or 2 gateways + chat instances.

Example:
    >>> environ = environment("postgresql://postgres@127.0.0.1:5432/chat", "nats://127.0.0.1:4222")
    >>> async def talk():  # doctest: +SKIP
    ...     async with running("cluster", environ) as shape:
    ...         print(shape.urls)  # the two gateways
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from betrue.server import Application

__all__ = ["FAST_HASHES", "Shape", "environment", "running"]

FAST_HASHES = {"CHAT_ARGON2_MEMORY": "1024", "CHAT_ARGON2_TIME": "1"}


@dataclass
class Shape:
    """A running chat: the base URLs users connect to (one per gateway) and every process of it."""

    name: str
    urls: list[str]
    gateways: list[Application]
    services: list[Application] = field(default_factory=list)


def environment(database: str, nats_url: str, **extra: str) -> dict[str, str]:
    """What every process of one test's chat shares: its database, its own NATS prefix, the same keys."""
    return {
        "HTTP_PORT": "0",
        "LOG_LEVEL": "WARNING",
        "DATABASE_URL": database,
        "NATS_URL": nats_url,
        "NATS_PREFIX": f"t{secrets.token_hex(5)}",
        "JWT_SECRET": secrets.token_urlsafe(32),
        "AUTH_SERVICE_SECRET": secrets.token_urlsafe(32),
        "CHAT_HEARTBEAT": "0.5",
        "CHAT_GATEWAY_TIMEOUT": "2",
        "CHAT_PRESENCE_SWEEP": "0.5",
        **FAST_HASHES,
        **extra,
    }


@asynccontextmanager
async def running(
    shape: str,
    environ: dict[str, str],
    *,
    services: int = 2,
    prepare: Callable[[str, Application], None] | None = None,
) -> AsyncIterator[Shape]:
    """Start the chat as ``monolith`` or ``cluster`` (2 gateways, ``services`` chat instances); stop it after.

    ``prepare(label, app)`` is called before each app starts (``"chat"``; ``"chat-1"``…, ``"gateway-1"``…):
    the place to give each its own tracer provider.
    """
    ready = prepare if prepare is not None else (lambda label, app: None)
    from examples.chat.app import create_app
    from examples.chat.cluster import create_gateway, create_service

    started: list[Application] = []
    try:
        if shape == "monolith":
            app = create_app(environ=environ, env_file=None)
            ready("chat", app)
            await app.start()
            started.append(app)
            yield Shape(shape, [app.service("http").url], [app])
            return
        backends = [create_service(environ, env_file=None) for _ in range(services)]
        for number, backend in enumerate(backends, start=1):
            ready(f"chat-{number}", backend)
            await backend.start()
            started.append(backend)
        gateways = [create_gateway(environ, env_file=None) for _ in range(2)]
        for number, gateway in enumerate(gateways, start=1):
            ready(f"gateway-{number}", gateway)
            await gateway.start()
            started.append(gateway)
        yield Shape(shape, [gateway.service("http").url for gateway in gateways], gateways, backends)
    finally:
        for app in reversed(started):
            if app.started:
                await app.stop()
