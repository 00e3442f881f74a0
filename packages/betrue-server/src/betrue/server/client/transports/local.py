"""The in-process transport: the monolith shape of a client call."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from betrue.server.client.transports.base import Transport
from betrue.server.errors import InternalError, ValidationError
from betrue.server.response import error_envelope
from betrue.server.wire import decode_json, encode_json

if TYPE_CHECKING:
    from betrue.server.application import Application

__all__ = ["LocalTransport"]


class LocalTransport(Transport):
    """Calls ``Application.handle`` directly: same pipeline, same validation as a remote call.

    With ``json=True`` (the default; ``CLIENT_LOCAL_JSON``) params and the envelope make a JSON round
    trip, so a handler sees exactly what it would see over HTTP: a ``datetime`` arrives as a string,
    a tuple as a list, a value JSON cannot carry fails here and not only once the app is split.
    ``json=False`` passes objects through (faster; the shapes may then differ from the remote ones).

    Example:
        >>> # app.client.route("*", LocalTransport(app))  -- what ROUTES="*=local" does
    """

    name = "local"
    target = "local"
    enforces_deadline = True  # Application.handle ends the call at its deadline (betrue.server.deadlines)

    def __init__(self, app: Application, *, json: bool = True) -> None:
        self.app = app
        self.json = json

    async def call(self, code: str, params: Any, meta: Mapping[str, str], deadline: float | None) -> Mapping[str, Any]:
        trace_id = meta.get("x-trace-id")
        if self.json:
            try:
                params = decode_json(encode_json(params))
            except (TypeError, ValueError, ValidationError) as error:
                raise ValidationError(f"params of {code} are not JSON: {error}") from None
        response = await self.app.handle(code, params, meta, adapter="local", deadline=deadline)
        envelope = response.envelope(trace_id)
        if not self.json:
            return envelope
        try:
            decoded: Mapping[str, Any] = decode_json(encode_json(envelope))
        except (TypeError, ValueError, ValidationError):
            # What a remote app answers when its handler returns a value JSON cannot carry.
            return error_envelope(InternalError(f"Result of {code} is not JSON (trace id {trace_id})"), trace_id)
        return decoded
