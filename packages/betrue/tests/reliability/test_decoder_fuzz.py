"""hypothesis fuzzing of the decoders every transport shares: the JSON body decoder and the WebSocket call
parser. Any input is either decoded or refused with a 400 ``ValidationError`` naming a stable reason;
nothing else escapes, and what is accepted is exactly what Python's own parser reads."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from betrue.server import ValidationError, decode_json, encode_json
from betrue.ws.protocol import BadFrame, parse_call

from .attack import TALLY

FAMILY = "decoder fuzzing (hypothesis)"
SHORT = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
LONG = settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])

TEXT = st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"), max_size=20)
"""Strings the decoder takes: no NUL, no lone surrogate (both refused on purpose, and stated in the schemas)."""
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | TEXT,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(TEXT, children, max_size=4),
    max_leaves=12,
)


def _check_bytes(raw: bytes) -> None:
    refused: ValidationError | None = None
    try:
        value = decode_json(raw)
    except ValidationError as error:
        refused = error
    if refused is not None:
        TALLY.record(FAMILY, "decoder", "4xx")
        assert refused.code == 400
        assert isinstance((refused.details or {}).get("reason"), str)
        return
    TALLY.record(FAMILY, "decoder", "2xx")
    assert value == json.loads(raw)


def _check_value(value: Any) -> None:
    raw = encode_json(value)
    decoded = decode_json(raw)
    TALLY.record(FAMILY, "decoder", "2xx")
    assert decoded == json.loads(raw)


def _check_frame(raw: str) -> None:
    refused: BadFrame | None = None
    try:
        parse_call(raw)
    except BadFrame as bad:
        refused = bad
    TALLY.record(FAMILY, "ws frames", "4xx" if refused is not None else "2xx")
    assert refused is None or refused.error.code == 400


@SHORT
@given(st.binary(max_size=200))
def test_any_bytes_are_decoded_or_refused_with_a_reason(raw: bytes) -> None:
    _check_bytes(raw)


@SHORT
@given(JSON_VALUES)
def test_every_json_value_within_the_limits_round_trips(value: Any) -> None:
    _check_value(value)


@SHORT
@given(st.one_of(st.text(max_size=200), JSON_VALUES.map(lambda value: encode_json(value).decode())))
def test_any_websocket_frame_is_a_call_or_a_400(raw: str) -> None:
    _check_frame(raw)


@pytest.mark.slow
@LONG
@given(st.binary(max_size=2000) | JSON_VALUES.map(encode_json))
def test_many_more_inputs(raw: bytes) -> None:
    _check_bytes(raw)
    _check_bytes(raw[: len(raw) // 2])
