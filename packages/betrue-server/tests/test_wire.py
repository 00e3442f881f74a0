from __future__ import annotations

import dataclasses
import datetime
import enum
import json
import math
import random
import uuid
from decimal import Decimal
from typing import Any

import orjson
import pydantic
import pytest

from betrue.server.errors import ValidationError
from betrue.server.wire import MAX_DEPTH, decode_json, encode_json

# What decode_json answers for each body of the shared corpus (conftest.malformed_bodies).
EXPECTED_REASONS = {
    "deep_arrays_10k": "too_deep",
    "deep_objects_10k": "too_deep",
    "deep_arrays_300": "too_deep",
    "deep_objects_300": "too_deep",
    "huge_integer": "integer_out_of_range",
    "integer_5000_digits": "integer_out_of_range",
    "integer_2_pow_63": "integer_out_of_range",
    "integer_2_pow_64": "integer_out_of_range",
    "integer_below_int64": "integer_out_of_range",
    "nan": "non_finite_number",
    "infinity": "non_finite_number",
    "negative_infinity": "non_finite_number",
    "float_overflow": "non_finite_number",
    "hex_number": "syntax",
    "leading_zero": "syntax",
    "plus_sign": "syntax",
    "leading_dot": "syntax",
    "trailing_dot": "syntax",
    "lone_high_surrogate": "lone_surrogate",
    "lone_low_surrogate": "lone_surrogate",
    "surrogate_encoded_as_utf8": "invalid_utf8",
    "escaped_null": "null_character",
    "escaped_null_in_key": "null_character",
    "raw_control_character": "syntax",
    "raw_newline_in_string": "syntax",
    "bad_escape": "syntax",
    "short_unicode_escape": "syntax",
    "single_quotes": "syntax",
    "duplicate_key_top": "duplicate_key",
    "duplicate_key_nested": "duplicate_key",
    "duplicate_key_in_array_item": "duplicate_key",
    "duplicate_key_via_escape": "duplicate_key",
    "unquoted_key": "syntax",
    "truncated_object": "truncated",
    "truncated_string": "truncated",
    "truncated_array": "truncated",
    "truncated_literal": "truncated",
    "trailing_garbage": "trailing_data",
    "two_objects": "trailing_data",
    "trailing_comma_object": "syntax",
    "trailing_comma_array": "syntax",
    "missing_colon": "syntax",
    "missing_comma": "syntax",
    "line_comment": "syntax",
    "block_comment": "syntax",
    "empty": "empty_body",
    "whitespace_only": "empty_body",
    "utf8_bom": "unsupported_encoding",
    "utf16_le_bom": "unsupported_encoding",
    "utf16_le": "unsupported_encoding",
    "utf16_be": "unsupported_encoding",
    "utf16_be_bom": "unsupported_encoding",
    "utf32_le": "unsupported_encoding",
    "utf32_be_bom": "unsupported_encoding",
    "latin1": "invalid_utf8",
    "invalid_utf8_continuation": "invalid_utf8",
    "invalid_utf8_start_byte": "invalid_utf8",
    "overlong_utf8": "invalid_utf8",
    "truncated_utf8": "invalid_utf8",
}
# Valid JSON that decode_json returns; the application refuses them as params because they are not objects.
NOT_OBJECTS: dict[str, Any] = {
    "root_array": [1, 2, 3],
    "root_string": "chat/send",
    "root_number": 42,
    "root_null": None,
    "root_true": True,
}


def reason_of(body: bytes | str) -> str:
    with pytest.raises(ValidationError) as caught:
        decode_json(body)
    error = caught.value
    assert error.code == 400
    assert error.message.startswith("Malformed JSON: ")
    reason: str = error.details["reason"]
    return reason


def test_corpus_is_large_and_fully_classified(malformed_bodies: list[tuple[str, bytes]]) -> None:
    names = [name for name, _ in malformed_bodies]
    assert len(names) >= 45
    assert len(set(names)) == len(names)
    assert set(names) == set(EXPECTED_REASONS) | set(NOT_OBJECTS)


def test_every_malformed_body_is_rejected_with_its_reason(malformed_bodies: list[tuple[str, bytes]]) -> None:
    answered = {name: reason_of(body) for name, body in malformed_bodies if name in EXPECTED_REASONS}
    assert answered == EXPECTED_REASONS


def test_non_object_roots_are_valid_json(malformed_bodies: list[tuple[str, bytes]]) -> None:
    decoded = {name: decode_json(body) for name, body in malformed_bodies if name in NOT_OBJECTS}
    assert decoded == NOT_OBJECTS


def test_stdlib_json_would_accept_what_we_refuse() -> None:
    # The traps this module exists for: json.loads takes all of these silently.
    assert math.isnan(json.loads('{"n": NaN}')["n"])
    assert json.loads('{"a": 1, "a": 2}') == {"a": 2}
    assert json.loads('"\\ud800"') == "\ud800"
    assert orjson.loads(b"18446744073709551616") == 1.8446744073709552e19
    for body in (b'{"n": NaN}', b'{"a": 1, "a": 2}', b'"\\ud800"', b"18446744073709551616"):
        reason_of(body)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"room": "r1", "limit": 20}', {"room": "r1", "limit": 20}),
        ('{"é": "ü 😀 中文"}'.encode(), {"é": "ü 😀 中文"}),
        (b'{"s": "\\u00e9\\ud83d\\ude00"}', {"s": "é😀"}),
        (b'{"a": {"b": [1, {"c": null}]}, "d": []}', {"a": {"b": [1, {"c": None}]}, "d": []}),
        (b'{"max": 9223372036854775807, "min": -9223372036854775808}', {"max": 2**63 - 1, "min": -(2**63)}),
        (b'{"f": 1.5, "e": 1e300, "z": -0.0, "small": 5e-324}', {"f": 1.5, "e": 1e300, "z": -0.0, "small": 5e-324}),
        (b'{"pi": 3.14159265358979323846264338327950288}', {"pi": 3.141592653589793}),
        (b'{"big": 12345678901234567890.5}', {"big": 12345678901234567890.5}),
        (b'{"id": "12345678901234567890123"}', {"id": "12345678901234567890123"}),
        (
            b'{"at": "2024-05-01T12:00:00Z", "url": "http://x:80/"}',
            {"at": "2024-05-01T12:00:00Z", "url": "http://x:80/"},
        ),
        (b'{"a:b": 1, "c": "d:e"}', {"a:b": 1, "c": "d:e"}),
        (b'{"q\\"k": 1, "b\\\\s": 2, "n\\nl": 3, "sl\\/": 4}', {'q"k': 1, "b\\s": 2, "n\nl": 3, "sl/": 4}),
        (b'{"colon\\u003a": ":"}', {"colon:": ":"}),
        (b'{"text": "\\\\u0000 is how you write it"}', {"text": "\\u0000 is how you write it"}),
        (b'{"a": 1, "A": 2, "a ": 3}', {"a": 1, "A": 2, "a ": 3}),
        (b'[{"a": 1}, {"a": 2}]', [{"a": 1}, {"a": 2}]),
        (b' \r\n\t{"a" : 1 , "b" : [ ] }\n ', {"a": 1, "b": []}),
        (b"{}", {}),
    ],
)
def test_valid_bodies_decode_exactly(body: bytes, expected: Any) -> None:
    decoded = decode_json(body)
    assert decoded == expected
    assert orjson.dumps(decoded) == orjson.dumps(expected)  # also tells 1 from 1.0 and -0.0 from 0.0


def test_accepts_every_buffer_type_and_str() -> None:
    body = b'{"a": [1, "x"]}'
    for raw in (body, bytearray(body), memoryview(body), body.decode()):
        assert decode_json(raw) == {"a": [1, "x"]}


def test_str_with_a_lone_surrogate_is_rejected() -> None:
    assert reason_of('{"s": "\ud800"}') == "lone_surrogate"


def test_depth_limit_is_exact() -> None:
    for opening, closing in ((b"[", b"]"), (b'{"a":', b"}")):
        deepest = opening * MAX_DEPTH + b"1" + closing * MAX_DEPTH
        assert decode_json(deepest) is not None
        assert reason_of(opening + deepest + closing) == "too_deep"
    # A flat object with arrays (and an empty object) nested in it: the fast path must count right.
    nested_in_flat = b'{"a": ' + b"[" * (MAX_DEPTH - 2) + b"{}" + b"]" * (MAX_DEPTH - 2) + b"}"
    assert encode_json(decode_json(nested_in_flat)) == nested_in_flat.replace(b" ", b"")
    assert reason_of(nested_in_flat.replace(b"{}", b"[{}]")) == "too_deep"
    assert reason_of(b'{"a": ' + b"[" * MAX_DEPTH + b"]" * MAX_DEPTH + b"}") == "too_deep"


def test_the_precise_parse_copes_with_the_deepest_body() -> None:
    # The stdlib fallback recurses; it must only ever see depths already bounded.
    wrap = b"[" * (MAX_DEPTH - 1), b"]" * (MAX_DEPTH - 1)
    assert reason_of(wrap[0] + b'{"a": 1, "a": 2}' + wrap[1]) == "duplicate_key"
    assert reason_of(wrap[0] + b"[99999999999999999999]" + wrap[1]) == "integer_out_of_range"


def test_what_decodes_can_be_encoded_again() -> None:
    deepest = decode_json(b"[" * MAX_DEPTH + b"]" * MAX_DEPTH)
    assert encode_json(deepest) == b"[" * MAX_DEPTH + b"]" * MAX_DEPTH


def test_integer_bounds_are_exact() -> None:
    assert decode_json(b"[9223372036854775807, -9223372036854775808]") == [2**63 - 1, -(2**63)]
    for number in (2**63, -(2**63) - 1, 2**64 - 1, 2**64, 10**30):
        assert reason_of(f'{{"n": {number}}}'.encode()) == "integer_out_of_range"


def test_duplicate_key_details_name_the_key() -> None:
    with pytest.raises(ValidationError) as caught:
        decode_json(b'{"t": "12:00", "user": {"name": "a", "name": "b"}}')
    assert caught.value.details == {"reason": "duplicate_key", "key": "name"}
    assert caught.value.message == "Malformed JSON: duplicate key 'name'"


def test_duplicate_key_is_found_beyond_the_fast_count() -> None:
    # Colons inside strings and escaped colons make the raw colon count misleading; the result must not be.
    # The kept value's escaped colon makes up for the dropped key's colon: only the escape check sees it.
    assert reason_of(b'{"a": 1, "a": "\\u003a"}') == "duplicate_key"
    assert reason_of(b'{"a\\u003a": 1, "a:": 2}') == "duplicate_key"
    assert reason_of(b'{"url": "http://x", "k": 1, "k": 2}') == "duplicate_key"
    assert reason_of(b'[1, {"x": [{"y": 1, "y": 1}]}]') == "duplicate_key"
    long_key = "k" * 500
    with pytest.raises(ValidationError) as caught:
        decode_json(f'{{"{long_key}": 1, "{long_key}": 2}}'.encode())
    assert len(caught.value.details["key"]) == 101


def test_syntax_errors_say_where() -> None:
    with pytest.raises(ValidationError) as caught:
        decode_json(b'{\n  "a": 1,\n  "b": ?\n}')
    assert caught.value.details == {"reason": "syntax", "line": 3, "column": 8}
    assert "line 3 column 8" in caught.value.message


def test_invalid_utf8_says_which_byte() -> None:
    with pytest.raises(ValidationError) as caught:
        decode_json(b'{"s": "ok \xff"}')
    assert caught.value.details == {"reason": "invalid_utf8", "position": 10}


def test_large_body_round_trips() -> None:
    items = [{"id": i, "name": f"user {i}", "tags": ["a", "b"], "at": "2024-05-01T12:00:00Z"} for i in range(2000)]
    body = orjson.dumps({"items": items})
    assert len(body) > 100_000
    assert decode_json(body) == {"items": items}


class Color(enum.Enum):
    RED = "red"


@dataclasses.dataclass
class Point:
    x: int
    y: int


class User(pydantic.BaseModel):
    id: uuid.UUID
    joined: datetime.date
    tags: set[str] = set()


def test_encode_json_round_trips_plain_values() -> None:
    value = {"s": "é😀", "n": [1, 2.5, None, True], "nested": {"a": {}}, "big": 2**63 - 1}
    encoded = encode_json(value)
    assert isinstance(encoded, bytes)
    assert decode_json(encoded) == value


def test_encode_json_handles_common_python_types() -> None:
    user_id = uuid.UUID("12345678-1234-5678-1234-567812345678")
    value = {
        "user": User(id=user_id, joined=datetime.date(2024, 5, 1), tags={"x"}),
        "point": Point(1, 2),
        "at": datetime.datetime(2024, 5, 1, 12, 0, tzinfo=datetime.UTC),
        "color": Color.RED,
        "ids": frozenset({7}),
        "price": Decimal("10.10"),
        "by_number": {1: "one"},
    }
    assert decode_json(encode_json(value)) == {
        "user": {"id": str(user_id), "joined": "2024-05-01", "tags": ["x"]},
        "point": {"x": 1, "y": 2},
        "at": "2024-05-01T12:00:00+00:00",
        "color": "red",
        "ids": [7],
        "price": "10.10",
        "by_number": {"1": "one"},
    }


def test_encode_json_names_the_type_it_cannot_encode() -> None:
    class Opaque:
        pass

    with pytest.raises(TypeError, match="Opaque"):
        encode_json({"x": Opaque()})
    with pytest.raises(TypeError, match="64-bit"):
        encode_json(2**64)


class _Duplicate(Exception):
    pass


class _OutOfRange(Exception):
    pass


def _reference_decode(body: bytes) -> tuple[str, Any]:
    """The slow, obviously correct reading: stdlib json with a duplicate check and a range check."""

    def unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        if len({key for key, _ in pairs}) != len(pairs):
            raise _Duplicate
        return dict(pairs)

    def bounded(text: str) -> int:
        if not -(2**63) <= int(text) < 2**63:
            raise _OutOfRange
        return int(text)

    try:
        return "ok", json.loads(body, object_pairs_hook=unique, parse_int=bounded)
    except _Duplicate:
        return "duplicate_key", None
    except _OutOfRange:
        return "integer_out_of_range", None


def _random_document(rng: random.Random, depth: int = 0) -> str:
    """JSON text that may hold duplicate keys, colons and escaped colons in strings, and huge integers."""
    pieces = ["a", "b", ":", "\\u003a", "\\u003A", "\\u0062", 'x\\"', "é", "\\ud83d\\ude00", " "]

    def string() -> str:
        return '"' + "".join(rng.choice(pieces) for _ in range(rng.randint(0, 3))) + '"'

    kind = rng.random()
    if depth > 4 or kind < 0.3:
        return rng.choice(
            [string(), str(rng.randint(-(2**70), 2**70)), str(rng.randint(-99, 99)), "1.5e3", "true", "null"]
        )
    space = rng.choice(["", " ", "\n"])
    if kind < 0.55:
        items = [_random_document(rng, depth + 1) for _ in range(rng.randint(0, 4))]
        return "[" + f",{space}".join(items) + "]"
    members = [f"{string()}{space}:{space}{_random_document(rng, depth + 1)}" for _ in range(rng.randint(0, 4))]
    return "{" + f",{space}".join(members) + "}"


def test_agrees_with_a_strict_reference_on_random_documents() -> None:
    rng = random.Random(20240501)
    outcomes: set[str] = set()
    for _ in range(3000):
        body = _random_document(rng).encode()
        expected, value = _reference_decode(body)
        outcomes.add(expected)
        if expected == "ok":
            assert decode_json(body) == value, body
        else:
            assert reason_of(body) == expected, body
    assert outcomes == {"ok", "duplicate_key", "integer_out_of_range"}
