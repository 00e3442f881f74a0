"""The Adapter interface: a service that serves the app's commands on a transport."""

from __future__ import annotations

from typing import TYPE_CHECKING

from betrue.server.di import Service

if TYPE_CHECKING:
    from betrue.server.application import Application

__all__ = ["Adapter"]


class Adapter(Service):
    """A service that, once every service has started, serves the app on a transport.

    Lifecycle: ``start()`` (build; other services may add routes), ``serve(app)`` (listen),
    ``close_listeners()`` (stop accepting at shutdown), ``close()`` (after in-flight calls finished).
    """

    async def start(self) -> Adapter:
        return self

    async def serve(self, app: Application) -> None:
        """Start accepting calls for ``app``."""

    async def close_listeners(self) -> None:
        """Stop accepting new connections and calls; in-flight ones go on."""

    async def close(self) -> None:
        """Close what is left (after in-flight calls finished or the grace period ran out)."""
