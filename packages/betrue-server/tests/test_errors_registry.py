"""The error registry fails at definition time: one class per status, so envelopes rebuild the right one."""

from __future__ import annotations

import pytest

from betrue.server import BetrueError, Conflict, NotFound, error_class, error_from_envelope


def test_a_second_class_with_a_taken_status_fails_where_it_is_defined_naming_both() -> None:
    class RegistryTestSeatTaken(Conflict):
        status = "RegistryTestSeatTaken"

    with pytest.raises(TypeError) as raised:

        class Another(Conflict):
            status = "RegistryTestSeatTaken"

    message = str(raised.value)
    assert "error status 'RegistryTestSeatTaken'" in message
    assert "<locals>.Another" in message
    assert "<locals>.RegistryTestSeatTaken" in message
    assert error_class("RegistryTestSeatTaken") is RegistryTestSeatTaken


def test_a_built_in_status_cannot_be_claimed_by_a_new_class() -> None:
    with pytest.raises(TypeError, match=r"already the status of betrue\.server\.errors\.NotFound"):

        class MyNotFound(BetrueError):
            code = 404
            status = "NotFound"

    assert error_class("NotFound") is NotFound


def test_a_subclass_that_keeps_its_parents_status_is_no_conflict() -> None:
    class RoomMissing(NotFound):
        """No status of its own: it travels as NotFound."""

    assert error_class("NotFound") is NotFound
    assert isinstance(RoomMissing("gone"), NotFound)


def test_the_same_class_defined_again_by_the_same_module_replaces_itself() -> None:
    namespace: dict[str, object] = {"Conflict": Conflict, "__name__": "reloaded_module"}
    source = "class Twice(Conflict):\n    status = 'RegistryTestTwice'\n"
    exec(source, namespace)  # a module imported again (a reload, a notebook cell run twice)
    exec(source, namespace)
    assert error_class("RegistryTestTwice") is namespace["Twice"]


def test_an_unregistered_class_may_reuse_a_status() -> None:
    class Local(Conflict, register=False):
        status = "Conflict"

    assert error_class("Conflict") is Conflict
    assert Local("x").status == "Conflict"


def test_an_envelope_with_an_unknown_status_does_not_grow_the_registry() -> None:
    error = error_from_envelope({"code": 409, "status": "RegistryTestRemoteOnly", "error": {"message": "m"}})
    assert error.status == "RegistryTestRemoteOnly"
    assert error.code == 409
    assert error_class("RegistryTestRemoteOnly") is None
