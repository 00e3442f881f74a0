"""Redaction: what the debug log line shows of params and results is safe and short."""

from __future__ import annotations

from typing import Any

import pytest

from betrue.server.observability import redact
from betrue.server.observability._redact import MASK, SECRET_KEY


@pytest.mark.parametrize(
    "key",
    [
        "password",
        "Passwd",
        "passphrase",
        "client_secret",
        "access_token",
        "Authorization",
        "x-auth",
        "auth",
        "api_key",
        "X-Api-Key",
        "apikey",
        "cookie",
        "credentials",
        "private_key",
        "session",
        "signature",
        "DATABASE_DSN",
    ],
)
def test_secret_looking_keys_are_masked_wherever_they_sit(key: str) -> None:
    shown = redact({"outer": [{key: "value-that-must-not-leak"}]})
    assert shown == {"outer": [{key: MASK}]}


@pytest.mark.parametrize("key", ["author", "authority", "name", "room", "text", "user_id"])
def test_ordinary_keys_are_shown(key: str) -> None:
    assert SECRET_KEY.search(key) is None
    assert redact({key: "v"}) == {key: "v"}


def test_a_secret_key_masks_its_whole_value_even_a_nested_one() -> None:
    shown = redact({"token": {"value": "abc", "kind": "bearer"}, "user": {"password": ["a", "b"]}})
    assert shown == {"token": MASK, "user": {"password": MASK}}


def test_long_strings_are_cut_with_their_length() -> None:
    assert redact("a" * 10, max_string=4) == "aaaa… (10 chars)"
    assert redact("abcd", max_string=4) == "abcd"


def test_bytes_show_their_size_only() -> None:
    assert redact({"file": b"\x00" * 2048}) == {"file": "<2048 bytes>"}
    assert redact(bytearray(3)) == "<3 bytes>"
    assert redact(memoryview(b"abcd")) == "<4 bytes>"


def test_collections_keep_their_first_items_and_count_the_rest() -> None:
    assert redact((1, 2, 3, 4), max_items=2) == [1, 2, "… (2 more)"]
    assert redact({f"k{i}": i for i in range(4)}, max_items=2) == {"k0": 0, "k1": 1, "…": "2 more keys"}
    assert sorted(redact({3, 1, 2})) == [1, 2, 3]


def test_deep_nesting_is_summarised() -> None:
    deep: Any = "leaf"
    for _ in range(10):
        deep = [deep]
    shown = redact(deep, max_depth=3)
    assert shown == [[["<list nested too deep>"]]]


def test_objects_that_are_not_json_show_their_type_never_their_repr() -> None:
    class Secretive:
        def __repr__(self) -> str:
            return "password=hunter2"

    assert redact({"who": Secretive()}) == {"who": "<Secretive>"}


def test_very_long_keys_are_cut() -> None:
    shown = redact({"k" * 500: 1})
    assert list(shown) == ["k" * 100]


def test_the_input_is_never_changed() -> None:
    value = {"password": "p", "items": list(range(50))}
    redact(value, max_items=2)
    assert value == {"password": "p", "items": list(range(50))}


def test_scalars_pass_through() -> None:
    assert [redact(v) for v in (None, True, 0, 1.5)] == [None, True, 0, 1.5]
