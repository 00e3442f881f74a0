"""Shared fixtures for betrue-server's tests."""

from __future__ import annotations

import pytest

_NESTED_10K = b"[" * 10_000 + b"]" * 10_000
_OBJECTS_10K = b'{"a":' * 10_000 + b"1" + b"}" * 10_000
_PARAMS = '{"room": "r1", "text": "hi"}'

MALFORMED_BODIES: list[tuple[str, bytes]] = [
    # Structure and size
    ("deep_arrays_10k", _NESTED_10K),
    ("deep_objects_10k", _OBJECTS_10K),
    ("deep_arrays_300", b"[" * 300 + b"]" * 300),
    ("deep_objects_300", b'{"a":' * 300 + b"1" + b"}" * 300),
    # Numbers JSON has no room for, or that orjson would bend
    ("huge_integer", b'{"n": 123456789012345678901234567890}'),
    ("integer_5000_digits", b'{"n": ' + b"9" * 5000 + b"}"),
    ("integer_2_pow_63", b'{"n": 9223372036854775808}'),
    ("integer_2_pow_64", b'{"n": 18446744073709551616}'),
    ("integer_below_int64", b'{"n": -9223372036854775809}'),
    ("nan", b'{"n": NaN}'),
    ("infinity", b'{"n": Infinity}'),
    ("negative_infinity", b'{"n": -Infinity}'),
    ("float_overflow", b'{"n": 1e400}'),
    ("hex_number", b'{"n": 0x1F}'),
    ("leading_zero", b'{"n": 01}'),
    ("plus_sign", b'{"n": +1}'),
    ("leading_dot", b'{"n": .5}'),
    ("trailing_dot", b'{"n": 1.}'),
    # Strings
    ("lone_high_surrogate", b'{"s": "\\ud800"}'),
    ("lone_low_surrogate", b'{"s": "\\udc00"}'),
    ("surrogate_encoded_as_utf8", b'{"s": "\xed\xa0\x80"}'),
    ("escaped_null", b'{"s": "a\\u0000b"}'),
    ("escaped_null_in_key", b'{"a\\u0000": 1}'),
    ("raw_control_character", b'{"s": "a\tb"}'),
    ("raw_newline_in_string", b'{"s": "a\nb"}'),
    ("bad_escape", b'{"s": "\\x41"}'),
    ("short_unicode_escape", b'{"s": "\\u12"}'),
    ("single_quotes", b"{'room': 'r1'}"),
    # Keys
    ("duplicate_key_top", b'{"room": "r1", "room": "r2"}'),
    ("duplicate_key_nested", b'{"user": {"id": 1, "id": 2}}'),
    ("duplicate_key_in_array_item", b'{"items": [{"a": 1}, {"b": 1, "b": 2}]}'),
    ("duplicate_key_via_escape", b'{"room": 1, "r\\u006fom": 2}'),
    ("unquoted_key", b"{room: 1}"),
    # Truncated and trailing
    ("truncated_object", b'{"room": "r1"'),
    ("truncated_string", b'{"room": "r1'),
    ("truncated_array", b'{"ids": [1, 2'),
    ("truncated_literal", b'{"ok": tru'),
    ("trailing_garbage", b'{"room": "r1"} x'),
    ("two_objects", b'{"a": 1}{"b": 2}'),
    ("trailing_comma_object", b'{"a": 1,}'),
    ("trailing_comma_array", b'{"a": [1, 2,]}'),
    ("missing_colon", b'{"a" 1}'),
    ("missing_comma", b'{"a": 1 "b": 2}'),
    ("line_comment", b'{"a": 1 // note\n}'),
    ("block_comment", b'{"a": /* note */ 1}'),
    # Empty
    ("empty", b""),
    ("whitespace_only", b" \r\n\t "),
    # Encodings
    ("utf8_bom", b"\xef\xbb\xbf" + _PARAMS.encode()),
    ("utf16_le_bom", _PARAMS.encode("utf-16")),
    ("utf16_le", _PARAMS.encode("utf-16-le")),
    ("utf16_be", _PARAMS.encode("utf-16-be")),
    ("utf16_be_bom", b"\xfe\xff" + _PARAMS.encode("utf-16-be")),
    ("utf32_le", _PARAMS.encode("utf-32-le")),
    ("utf32_be_bom", b"\x00\x00\xfe\xff" + _PARAMS.encode("utf-32-be")),
    ("latin1", '{"name": "café"}'.encode("latin-1")),
    ("invalid_utf8_continuation", b'{"s": "\xc3\x28"}'),
    ("invalid_utf8_start_byte", b'{"s": "\xff"}'),
    ("overlong_utf8", b'{"s": "\xc0\xaf"}'),
    ("truncated_utf8", b'{"s": "\xe2\x82"}'),
    # Valid JSON, but not an object: the application rejects these as params
    ("root_array", b"[1, 2, 3]"),
    ("root_string", b'"chat/send"'),
    ("root_number", b"42"),
    ("root_null", b"null"),
    ("root_true", b"true"),
]
"""Named request bodies no command may accept. The ``root_*`` ones are valid JSON that is not an object."""


@pytest.fixture
def malformed_bodies() -> list[tuple[str, bytes]]:
    """Request bodies every transport must answer with a 4xx envelope (never a 500, never a hang)."""
    return list(MALFORMED_BODIES)
