"""The Transport interface: (code, params, meta, deadline) → envelope."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any

__all__ = ["TRANSPORT_ENTRY_POINTS", "Transport"]

TRANSPORT_ENTRY_POINTS = "betrue.transports"
"""Entry-point group: name = URL scheme, value = a callable ``(target: str) -> Transport``."""


class Transport(ABC):
    """Carries one call to whoever serves the command and returns its envelope (see docs/protocol.md).

    Implementations raise ``BetrueError`` subclasses for transport failures: ``ServiceUnavailable``
    (503) when the target cannot be reached, ``BadGateway`` (502) when the connection breaks or the
    answer is not an envelope, ``GatewayTimeout`` (504) when the deadline passes. Errors the remote
    command answered come back inside the envelope, and the client re-raises them.

    ``target`` names where calls go (``local``, ``http://127.0.0.1:3001``): circuit breakers,
    bulkheads and metrics are kept per target.

    Example:
        >>> class Echo(Transport):
        ...     target = "echo"
        ...     async def call(self, code, params, meta, deadline):
        ...         return {"code": 200, "status": "Success", "result": params, "traceId": None}
    """

    name: str = "transport"
    target: str = "transport"
    enforces_deadline: bool = False
    """True when ``call`` itself ends in time (504) once ``deadline`` passes, so the client sets no timer of its own."""

    @abstractmethod
    async def call(self, code: str, params: Any, meta: Mapping[str, str], deadline: float | None) -> Mapping[str, Any]:
        """Send ``params`` to command ``code``; ``deadline`` is a wall-clock (time.time()) instant."""

    async def close(self) -> None:  # noqa: B027 - optional: a transport without connections has nothing to do
        """Release connections."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.target!r})"
