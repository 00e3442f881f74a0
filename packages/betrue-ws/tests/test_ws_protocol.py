"""Decoding call frames and encoding answers and pushes."""

from __future__ import annotations

import orjson
import pytest

from betrue.server import NotFound
from betrue.ws import BadFrame, Call, parse_call, push_frame
from betrue.ws.protocol import answer_frame, error_frame


def test_a_call_frame_is_decoded_with_defaults_and_lower_case_meta() -> None:
    call = parse_call('{"id": "c1", "command": "chat/send", "meta": {"X-Trace-Id": "t1"}}')
    assert call == Call(id="c1", command="chat/send", params={}, meta={"x-trace-id": "t1"})


def test_params_are_passed_on_as_they_are_for_the_command_to_validate() -> None:
    assert parse_call(b'{"id": 1, "command": "a/b", "params": [1]}').params == [1]


@pytest.mark.parametrize(
    ("frame", "reason", "call_id"),
    [
        ("{", "truncated", None),
        ('{"id": 1.5, "command": "a/b"}', "bad_id", None),
        ('{"id": "", "command": "a/b"}', "bad_id", None),
        ('{"id": ' + str(2**53) + ', "command": "a/b"}', "bad_id", None),
        ('{"id": "' + "x" * 129 + '", "command": "a/b"}', "bad_id", None),
        ('{"id": 3, "command": ""}', "bad_command", 3),
        ('{"id": 4, "command": "a/b", "meta": []}', "bad_meta", 4),
        ('"just a string"', "not_an_object", None),
    ],
)
def test_frames_that_are_not_calls_say_why_and_keep_the_id_when_readable(
    frame: str, reason: str, call_id: int | None
) -> None:
    with pytest.raises(BadFrame) as raised:
        parse_call(frame)
    assert raised.value.error.code == 400
    assert raised.value.error.details["reason"] == reason
    assert raised.value.call_id == call_id


def test_answers_carry_the_id_first_and_the_envelope() -> None:
    frame = answer_frame(7, {"code": 200, "status": "Success", "result": {"a": 1}, "traceId": "t"})
    assert frame == b'{"id":7,"code":200,"status":"Success","result":{"a":1},"traceId":"t"}'
    error = orjson.loads(error_frame(NotFound("no such room", details={"room": "r9"}), None, "t2"))
    assert error == {
        "id": None,
        "code": 404,
        "status": "NotFound",
        "error": {"message": "no such room", "details": {"room": "r9"}},
        "traceId": "t2",
    }


def test_a_push_is_the_event_and_its_data() -> None:
    assert push_frame("chat.message", {"text": "hi"}) == b'{"event":"chat.message","data":{"text":"hi"}}'
