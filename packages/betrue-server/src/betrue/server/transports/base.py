"""The Transport interface: (code, params, meta, deadline) → envelope."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any

__all__ = ["Transport"]


class Transport(ABC):
    """Carries one call to whoever serves the command and returns its envelope (ARCHITECTURE.md §3).

    Implementations raise ``BetrueError`` subclasses for transport failures (502/503/504); errors the
    remote command answered come back inside the envelope, and the client re-raises them.
    """

    name: str = "transport"

    @abstractmethod
    async def call(
        self, code: str, params: Any, meta: Mapping[str, str], deadline: float | None
    ) -> Mapping[str, Any]:
        """Send ``params`` to command ``code``; ``deadline`` is a wall-clock (time.time()) instant."""

    async def close(self) -> None:
        """Release connections."""
