"""Subjects and headers: the NATS wire format of docs/protocol.md, without a server."""

from __future__ import annotations

import time

import pytest

from betrue.nats.headers import DEADLINE_HEADER, TIMEOUT_HEADER, deadline_of, meta_from_headers, request_headers
from betrue.nats.subjects import (
    app_token,
    code_from_subject,
    command_subject,
    commands_wildcard,
    discovery_subject,
    event_subject,
    queue_group,
)


def test_command_subjects_round_trip_to_codes() -> None:
    subject = command_subject("betrue", "chat", "chat/send")
    assert subject == "betrue.cmd.chat.chat.send"
    assert code_from_subject("betrue", "chat", subject) == "chat/send"
    assert code_from_subject("betrue", "chat", "betrue.cmd.chat._app.commands") == "_app/commands"
    assert code_from_subject("betrue", "chat", "betrue.cmd.other.x") == ""
    assert commands_wildcard("acme", "chat") == "acme.cmd.chat.>"
    assert queue_group("acme", "chat") == "acme.chat"


def test_event_and_discovery_subjects() -> None:
    assert event_subject("betrue", "chat.message") == "betrue.evt.chat.message"
    assert discovery_subject("betrue", "announce") == "betrue.discovery.announce"


@pytest.mark.parametrize("name", ["my app", "a.b", "", "x>", "*"])
def test_app_names_that_are_not_one_token_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="NATS subject token"):
        app_token(name)


def test_a_call_carries_its_meta_and_both_deadlines() -> None:
    deadline = time.time() + 2
    headers = request_headers({"x-trace-id": "t1"}, deadline)
    assert headers["x-trace-id"] == "t1"
    assert 1500 < int(headers[TIMEOUT_HEADER]) <= 2000
    assert int(headers[DEADLINE_HEADER]) == int(deadline * 1000)
    assert request_headers({"a": "b"}, None) == {"a": "b"}


def test_the_responder_takes_the_earlier_deadline() -> None:
    now = time.time()
    late_absolute = {TIMEOUT_HEADER: "1000", DEADLINE_HEADER: str(int((now - 5) * 1000))}
    earlier = deadline_of(late_absolute)
    assert earlier is not None
    assert earlier < now  # kept by nats-py and sent late: already past, whatever the relative header says
    relative_only = deadline_of({TIMEOUT_HEADER: "1000"})
    assert relative_only is not None
    assert now < relative_only <= time.time() + 1
    assert deadline_of({DEADLINE_HEADER: "nonsense"}) is None
    assert deadline_of({DEADLINE_HEADER: "inf"}) is None
    assert deadline_of({}) is None


def test_meta_names_are_lower_case() -> None:
    assert meta_from_headers({"X-Trace-Id": "t", "traceparent": "00-…"}) == {"x-trace-id": "t", "traceparent": "00-…"}
    assert meta_from_headers(None) == {}


def test_the_subject_table_stays_bounded() -> None:
    from betrue.nats.stats import MAX_SUBJECTS, OTHER, SubjectTable

    table = SubjectTable()
    for n in range(MAX_SUBJECTS + 10):
        table.add(f"p.cmd.app.random{n}", 0.001, 404)
    assert len(table.subjects) == MAX_SUBJECTS + 1
    assert table.subjects[OTHER].calls == 10
