"""JSON on the wire: one strict decoder for every transport, and the matching encoder."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

import orjson
import pydantic

from betrue.server.errors import ValidationError

__all__ = ["MAX_DEPTH", "decode_json", "encode_json"]

MAX_DEPTH = 254
"""Deepest nesting accepted: what orjson can encode again, so an echoed request never fails to render."""

_INT_MIN, _INT_MAX = -(2**63), 2**63 - 1
_JSON_WHITESPACE = b" \t\r\n"
_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")
# Digits become "0", everything else "x": a run of 19 zeros marks a number orjson may have bent.
_DIGITS_ONLY = bytes(0x30 if 0x30 <= byte <= 0x39 else 0x78 for byte in range(256))
_LONG_DIGIT_RUN = b"0" * 19
_MAX_KEY_IN_DETAILS = 100
_INTEGER = re.compile(r"-?[0-9]+(?![0-9.eE])")


def decode_json(raw: bytes | bytearray | memoryview | str) -> Any:
    """Decode a request body strictly; anything but clean JSON raises a 400 ``ValidationError``.

    Beyond orjson's own checks this rejects duplicate keys, integers outside the signed 64-bit range,
    ``\\u0000`` in strings and nesting deeper than ``MAX_DEPTH``. ``details["reason"]`` is a stable code:
    ``empty_body``, ``unsupported_encoding``, ``invalid_utf8``, ``syntax``, ``truncated``, ``trailing_data``,
    ``too_deep``, ``non_finite_number``, ``integer_out_of_range``, ``lone_surrogate``, ``duplicate_key``,
    ``null_character``.

    Example:
        >>> decode_json(b'{"room": "r1", "limit": 20}')
        {'room': 'r1', 'limit': 20}
        >>> decode_json(b'{"a": 1, "a": 2}')
        Traceback (most recent call last):
        ...
        betrue.server.errors.ValidationError: Malformed JSON: duplicate key 'a'
    """
    data = raw if type(raw) is bytes else _as_bytes(raw)
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise _diagnose(data, exc) from None
    colons = data.count(b":")
    if type(value) is dict and len(value) == colons and (len(data) <= MAX_DEPTH or data.count(b"[") <= MAX_DEPTH - 2):
        # Every colon in the body is one of this object's own keys, so it holds no duplicate and nothing
        # nested but arrays and empty objects: depth is at most this object, its "["s and one "{}".
        exact = True
    else:
        # An escaped colon ("\\u003a") decodes to a colon the body does not show, which voids the count.
        exact = _encoded_colons(value) == colons and b"\\u003" not in data
    if not exact or _LONG_DIGIT_RUN in data.translate(_DIGITS_ONLY):
        value = _decode_precisely(data)
    if b"\\u0000" in data:
        _reject_null_characters(value)
    return value


def encode_json(value: Any) -> bytes:
    """Encode a result as compact UTF-8 JSON.

    Beyond what orjson encodes natively (dataclasses, datetimes, UUIDs, enums) this accepts pydantic
    models (their JSON mode dump), sets, Decimals (as strings, losslessly) and non-string dict keys.
    Anything else raises ``TypeError`` naming the type.

    Example:
        >>> encode_json({"at": datetime.date(2024, 5, 1), "tags": {"a"}})  # doctest: +SKIP
        b'{"at":"2024-05-01","tags":["a"]}'
    """
    try:
        return orjson.dumps(value, default=_encode_extra)
    except orjson.JSONEncodeError as exc:
        if "Dict key must be" not in str(exc):
            raise
    # Rare enough to pay for the slower option only when it is needed.
    return orjson.dumps(value, default=_encode_extra, option=orjson.OPT_NON_STR_KEYS)


def _as_bytes(raw: bytes | bytearray | memoryview | str) -> bytes:
    if isinstance(raw, bytes):
        return raw
    if isinstance(raw, str):
        try:
            return raw.encode()
        except UnicodeEncodeError:
            raise _malformed("lone_surrogate", "lone UTF-16 surrogate in a string") from None
    return bytes(raw)


def _encoded_colons(value: Any) -> int:
    """Colons in orjson's own encoding of ``value``: one per key it kept, plus those inside strings.

    Each key in the body has one colon after it, and orjson never escapes a colon, so for a body
    without ``\\u003a`` escapes this equals the body's colon count only if no key was dropped as a duplicate.
    """
    try:
        encoded = orjson.dumps(value)
    except orjson.JSONEncodeError:  # a decoded value holds only JSON types: depth is the only way to fail
        raise _malformed("too_deep", f"nesting deeper than {MAX_DEPTH} levels", max_depth=MAX_DEPTH) from None
    return encoded.count(b":")


def _decode_precisely(data: bytes) -> Any:
    """The slow, exact parse, run only when the fast checks cannot rule out a duplicate or a huge integer."""
    return json.loads(data, object_pairs_hook=_unique_object, parse_int=_bounded_int)


def _unique_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                shown = key if len(key) <= _MAX_KEY_IN_DETAILS else key[:_MAX_KEY_IN_DETAILS] + "…"
                raise _malformed("duplicate_key", f"duplicate key {shown!r}", key=shown)
            seen.add(key)
    return obj


def _bounded_int(text: str) -> int:
    # Checked on length first: int() refuses strings of more than 4300 digits with its own error.
    if len(text) > 20 or not _INT_MIN <= (number := int(text)) <= _INT_MAX:
        raise _malformed("integer_out_of_range", "integer outside the signed 64-bit range")
    return number


def _reject_null_characters(value: Any) -> None:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str) and "\x00" in item:
            raise _malformed("null_character", "\\u0000 in a string")


def _diagnose(data: bytes, exc: orjson.JSONDecodeError) -> ValidationError:
    """Name what is wrong with a body orjson refused; runs on the error path only."""
    if not data.strip(_JSON_WHITESPACE):
        return _malformed("empty_body", "empty body")
    # UTF-16 and UTF-32 put NUL bytes beside the ASCII characters JSON starts with (RFC 4627, section 3).
    if data.startswith(_BOMS) or data[:4].count(0) >= 2:
        return _malformed("unsupported_encoding", "the body must be UTF-8 without a byte order mark")
    try:
        data.decode()
    except UnicodeDecodeError as error:
        return _malformed("invalid_utf8", f"invalid UTF-8 at byte {error.start}", position=error.start)
    reason = str(exc).split(": line ", 1)[0]
    where = {"line": exc.lineno, "column": exc.colno}
    if "depth" in reason:
        return _malformed("too_deep", f"nesting deeper than {MAX_DEPTH} levels", max_depth=MAX_DEPTH)
    if "surrogate" in reason:
        return _malformed("lone_surrogate", "lone UTF-16 surrogate in a string", **where)
    if "infinity" in reason and _INTEGER.match(exc.doc, exc.pos):
        return _malformed("integer_out_of_range", "integer outside the signed 64-bit range", **where)
    near = exc.doc[max(exc.pos - 1, 0) : exc.pos + 8]
    if "infinity" in reason or "NaN" in near or "Infinity" in near:
        return _malformed("non_finite_number", "NaN and infinite numbers are not JSON", **where)
    if "end of data" in reason or exc.pos >= len(exc.doc.rstrip()):
        return _malformed("truncated", "unexpected end of body", **where)
    if "after document" in reason:
        return _malformed("trailing_data", f"unexpected data after the JSON value at line {exc.lineno}", **where)
    return _malformed("syntax", f"{reason} at line {exc.lineno} column {exc.colno}", **where)


def _malformed(reason: str, text: str, **details: Any) -> ValidationError:
    return ValidationError(f"Malformed JSON: {text}", details={"reason": reason, **details})


def _encode_extra(value: Any) -> Any:
    if isinstance(value, pydantic.BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, set | frozenset):
        return list(value)
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"Object of type {type(value).__qualname__} is not JSON serializable")
