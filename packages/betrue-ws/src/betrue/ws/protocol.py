"""The WebSocket message format: calls in; answers and pushes out.

A call is a text frame ``{"id": 1, "command": "chat/send", "params": {...}, "meta": {...}}``; its answer is
the envelope every transport speaks plus the call's ``"id"``; a push is ``{"event": "...", "data": ...}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeAlias

from betrue.server import BetrueError, ValidationError, decode_json, encode_json

__all__ = [
    "CLOSE_GOING_AWAY",
    "CLOSE_NORMAL",
    "CLOSE_TOO_BIG",
    "CLOSE_TOO_SLOW",
    "CLOSE_TRY_AGAIN_LATER",
    "BadFrame",
    "Call",
    "CallId",
    "answer_frame",
    "close_frame",
    "error_frame",
    "parse_call",
    "push_frame",
]

CLOSE_NORMAL = 1000
CLOSE_GOING_AWAY = 1001
"""The server is shutting down (in-flight calls were answered first)."""
CLOSE_TOO_SLOW = 1008
"""The client stopped reading: its send queue overflowed or a send took longer than ``WS_SEND_TIMEOUT``."""
CLOSE_TOO_BIG = 1009
"""A frame over ``WS_MAX_MESSAGE`` bytes."""
CLOSE_TRY_AGAIN_LATER = 1013
"""The server holds ``WS_MAX_CONNECTIONS`` connections already: reconnect later."""


def close_frame(code: int, reason: str = "") -> bytes:
    """A server close frame (unmasked) as raw bytes, for a socket aiohttp can no longer write to in order.

    Example:
        >>> close_frame(1008, "too slow")
        b'\\x88\\n\\x03\\xf0too slow'
    """
    payload = code.to_bytes(2, "big") + reason.encode()[:123]
    return bytes([0x88, len(payload)]) + payload


CallId: TypeAlias = int | str
"""What a client numbers its calls with; answered back unchanged."""

_MAX_ID_LENGTH = 128
_SAFE_INTEGER = 2**53 - 1  # the largest integer a JavaScript client can hold exactly


@dataclass(slots=True, frozen=True)
class Call:
    """One decoded call frame."""

    id: CallId
    command: str
    params: Any
    meta: dict[str, str]


class BadFrame(Exception):
    """A frame that is not a call; answered with ``error``'s envelope and the ``id`` when one was readable."""

    def __init__(self, error: BetrueError, call_id: CallId | None = None) -> None:
        super().__init__(error.message)
        self.error = error
        self.call_id = call_id


def parse_call(raw: str | bytes) -> Call:
    """Decode one text frame into a Call, or raise BadFrame saying what is wrong.

    Example:
        >>> parse_call('{"id": 1, "command": "chat/rooms"}')
        Call(id=1, command='chat/rooms', params={}, meta={})
        >>> parse_call('{"id": 2}')
        Traceback (most recent call last):
        ...
        betrue.ws.protocol.BadFrame: Bad call frame: 'command' must be a non-empty string
    """
    try:
        body = decode_json(raw)
    except ValidationError as error:
        raise BadFrame(error) from None
    if not isinstance(body, dict):
        raise BadFrame(_invalid("a call must be a JSON object", "not_an_object"))
    call_id = body.get("id")
    if not _valid_id(call_id):
        raise BadFrame(_invalid("'id' must be an integer or a string of 1-128 characters", "bad_id"))
    assert isinstance(call_id, int | str)
    command = body.get("command")
    if not isinstance(command, str) or not command:
        raise BadFrame(_invalid("'command' must be a non-empty string", "bad_command"), call_id)
    meta = body.get("meta")
    if meta is None:
        meta = {}
    elif not isinstance(meta, dict) or not all(isinstance(value, str) for value in meta.values()):
        raise BadFrame(_invalid("'meta' must be an object of strings", "bad_meta"), call_id)
    params = body.get("params")
    return Call(call_id, command, {} if params is None else params, {key.lower(): val for key, val in meta.items()})


def answer_frame(call_id: CallId, envelope: Mapping[str, Any]) -> bytes:
    """The answer to a call: its envelope with the call's id first."""
    return encode_json({"id": call_id, **envelope})


def error_frame(error: BetrueError, call_id: CallId | None, trace_id: str) -> bytes:
    """An error answer; ``call_id`` is None when the frame had no readable id."""
    return encode_json(
        {"id": call_id, "code": error.code, "status": error.status, "error": error.to_error(), "traceId": trace_id}
    )


def push_frame(event: str, data: Any) -> bytes:
    """A server push, encoded once and shared by every receiving connection."""
    return encode_json({"event": event, "data": data})


def _valid_id(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return -_SAFE_INTEGER <= value <= _SAFE_INTEGER
    return isinstance(value, str) and 0 < len(value) <= _MAX_ID_LENGTH


def _invalid(message: str, reason: str) -> ValidationError:
    return ValidationError(f"Bad call frame: {message}", details={"reason": reason})
