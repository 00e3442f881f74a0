"""The in-process transport: the monolith shape of a client call."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from betrue.server.transports.base import Transport

if TYPE_CHECKING:
    from betrue.server.application import Application

__all__ = ["LocalTransport"]


class LocalTransport(Transport):
    """Calls ``Application.handle`` directly: same pipeline, same validation as a remote call."""

    name = "local"

    def __init__(self, app: Application) -> None:
        self.app = app

    async def call(
        self, code: str, params: Any, meta: Mapping[str, str], deadline: float | None
    ) -> Mapping[str, Any]:
        response = await self.app.handle(code, params, meta, adapter="local", deadline=deadline)
        return response.envelope(meta.get("x-trace-id"))
