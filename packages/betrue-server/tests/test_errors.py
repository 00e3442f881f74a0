"""The error catalogue: codes and statuses, the registry, envelopes back to exceptions."""

from __future__ import annotations

import pytest

import betrue.server as server
from betrue.server import BetrueError, Conflict, NotFound, error_class, error_from_envelope
from betrue.server.errors import error_for_code
from betrue.server.response import error_envelope

CATALOGUE = {
    "ValidationError": 400,
    "Unauthorized": 401,
    "Forbidden": 403,
    "NotFound": 404,
    "MethodNotAllowed": 405,
    "RequestTimeout": 408,
    "Conflict": 409,
    "PayloadTooLarge": 413,
    "UnsupportedMediaType": 415,
    "TooManyRequests": 429,
    "InternalError": 500,
    "BadGateway": 502,
    "ServiceUnavailable": 503,
    "GatewayTimeout": 504,
}


@pytest.mark.parametrize(("status", "code"), CATALOGUE.items())
def test_each_error_has_its_code_and_round_trips_through_an_envelope(status: str, code: int) -> None:
    cls = getattr(server, status)
    assert (cls.code, cls.status, error_class(status), error_for_code(code)) == (code, status, cls, cls)
    rebuilt = error_from_envelope(error_envelope(cls("why", details={"field": "x"}), "t1"))
    assert type(rebuilt) is cls
    assert (rebuilt.message, rebuilt.details) == ("why", {"field": "x"})


def test_a_subclass_with_its_own_status_crosses_transports() -> None:
    class RoomFull(Conflict):
        status = "ErrorsTestRoomFull"  # unique: the registry keeps the first class of a status

    rebuilt = error_from_envelope(error_envelope(RoomFull("full"), None))
    assert isinstance(rebuilt, RoomFull)
    assert rebuilt.code == 409


def test_an_unknown_status_keeps_code_and_status_without_growing_the_registry() -> None:
    rebuilt = error_from_envelope({"code": 418, "status": "Teapot", "error": {"message": "short and stout"}})
    assert (rebuilt.code, rebuilt.status, rebuilt.message) == (418, "Teapot", "short and stout")
    assert isinstance(rebuilt, BetrueError)
    assert error_class("Teapot") is None


def test_default_messages_and_the_error_member() -> None:
    assert NotFound().to_error() == {"message": "Not found"}
    assert NotFound("x", details=[1]).to_error() == {"message": "x", "details": [1]}
    assert error_for_code(418).status == "ValidationError"
    assert error_for_code(599).status == "InternalError"
