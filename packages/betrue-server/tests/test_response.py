"""Response: plain values, codes, headers, errors, and the envelope every transport renders."""

from __future__ import annotations

from betrue.server import NotFound, Response


def test_success_and_error_envelopes() -> None:
    assert Response([1, 2]).envelope("t1") == {"code": 200, "status": "Success", "result": [1, 2], "traceId": "t1"}
    failed = Response.from_error(NotFound("gone", details={"id": 3}))
    assert not failed.ok
    assert failed.code == 404
    assert failed.envelope("t2") == {
        "code": 404,
        "status": "NotFound",
        "error": {"message": "gone", "details": {"id": 3}},
        "traceId": "t2",
    }


def test_the_envelope_defaults_to_the_response_trace_id() -> None:
    response = Response({"id": 7}, code=201, status="Created", headers={"Location": "/rooms/7"})
    response.trace_id = "t3"
    assert response.envelope() == {"code": 201, "status": "Created", "result": {"id": 7}, "traceId": "t3"}
    assert response.envelope("other")["traceId"] == "other"
