"""What a command answers: a result with an optional code, status and headers, and its envelope."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from betrue.server.errors import BetrueError

__all__ = ["Response", "error_envelope", "success_envelope"]


@dataclass(slots=True)
class Response:
    """A command's answer. Handlers usually return a plain value; return a Response to set more.

    Example:
        >>> Response({"id": 7}, code=201, status="Created", headers={"location": "/rooms/7"}).envelope("t1")
        {'code': 201, 'status': 'Created', 'result': {'id': 7}, 'traceId': 't1'}
    """

    result: Any = None
    code: int = 200
    status: str = "Success"
    headers: Mapping[str, str] = field(default_factory=dict)
    error: BetrueError | None = None
    stream: Any = None
    """A download instead of a JSON result (see betrue.server.streams); transports that carry bytes send it."""
    trace_id: str | None = None
    """The call's trace id; ``Application.handle`` sets it on every Response it answers."""

    @classmethod
    def from_error(cls, error: BetrueError) -> Response:
        return cls(None, code=error.code, status=error.status, error=error)

    @property
    def ok(self) -> bool:
        return self.error is None

    def envelope(self, trace_id: str | None = None) -> dict[str, Any]:
        """The transport-neutral envelope, docs/protocol.md (``trace_id`` defaults to the Response's)."""
        if trace_id is None:
            trace_id = self.trace_id
        if self.error is not None:
            return error_envelope(self.error, trace_id)
        return success_envelope(self.result, trace_id, code=self.code, status=self.status)


def success_envelope(result: Any, trace_id: str | None, *, code: int = 200, status: str = "Success") -> dict[str, Any]:
    return {"code": code, "status": status, "result": result, "traceId": trace_id}


def error_envelope(error: BetrueError, trace_id: str | None) -> dict[str, Any]:
    return {"code": error.code, "status": error.status, "error": error.to_error(), "traceId": trace_id}
