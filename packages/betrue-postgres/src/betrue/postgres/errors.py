"""asyncpg's exceptions mapped onto the error catalogue by SQLSTATE class; raw ones never leak upward.

The details name the constraint, table and column, never the row's data: PostgreSQL's own ``DETAIL``
(``Key (email)=(ann@example.com) already exists``) is left out on purpose.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from betrue.server import (
    BetrueError,
    Conflict,
    GatewayTimeout,
    InternalError,
    ServiceUnavailable,
    ValidationError,
)

__all__ = ["RETRYABLE", "is_connection_loss", "is_database_error", "is_retryable", "translate"]

RETRYABLE = frozenset({"40001", "40P01"})
"""serialization_failure, deadlock_detected: the whole transaction may simply run again."""

_CONNECTION_CLASSES = ("08", "57P01", "57P02", "57P03", "53300")
"""Connection exceptions, admin/crash shutdown, cannot connect now, too many connections."""

_BY_STATE: dict[str, tuple[type[BetrueError], str]] = {
    "23505": (Conflict, "A row with the same unique value exists"),
    "23503": (Conflict, "A referenced row is missing or still referenced"),
    "23P01": (Conflict, "The row conflicts with an existing one"),
    "23502": (ValidationError, "A required value is missing"),
    "23514": (ValidationError, "A value breaks a check rule"),
    "22000": (ValidationError, "A value does not fit its type (an argument out of range or of the wrong kind)"),
    "22001": (ValidationError, "A value is too long"),
    "22003": (ValidationError, "A number is out of range"),
    "22P02": (ValidationError, "A value has the wrong format"),
    "22007": (ValidationError, "A date or time has the wrong format"),
    "22008": (ValidationError, "A date or time is out of range"),
    "22012": (ValidationError, "Division by zero"),
    "22021": (ValidationError, "A text value is not valid in the database's encoding"),
    "40001": (Conflict, "A concurrent change conflicted; try again"),
    "40P01": (Conflict, "A deadlock was detected; try again"),
    "55P03": (Conflict, "The row is locked by another transaction"),
    "57014": (GatewayTimeout, "The query took too long and was cancelled"),
}


def is_database_error(error: BaseException) -> bool:
    """True for what the database or the driver raised (mapped by ``translate``), not an app's own exception."""
    return isinstance(error, asyncpg.PostgresError | asyncpg.InterfaceError | OSError | TimeoutError)


def is_retryable(error: BaseException) -> bool:
    """True for a serialization failure or a deadlock: running the transaction again may succeed."""
    return getattr(error, "sqlstate", None) in RETRYABLE


def is_connection_loss(error: BaseException) -> bool:
    """True when the database cannot be reached (now): the call is worth a 503, the pool reconnects."""
    if isinstance(error, asyncpg.exceptions.ConnectionDoesNotExistError | OSError | TimeoutError):
        return True
    state = getattr(error, "sqlstate", None) or ""
    return any(state.startswith(prefix) for prefix in _CONNECTION_CLASSES)


def _details(error: asyncpg.PostgresError) -> dict[str, Any]:
    details: dict[str, Any] = {"sqlstate": error.sqlstate}
    for key in ("constraint_name", "table_name", "column_name", "schema_name"):
        value = getattr(error, key, None)
        if value:
            details[key.removesuffix("_name")] = value
    return details


def translate(error: BaseException) -> BetrueError:
    """The catalogue error for a database failure (unique violation → Conflict 409, timeout → 504, …).

    Example:
        >>> translate(asyncpg.UniqueViolationError("duplicate key")).code
        409
    """
    if isinstance(error, BetrueError):
        return error
    if isinstance(error, asyncpg.PostgresError):
        state = error.sqlstate or ""
        found = _BY_STATE.get(state)
        if found is not None:
            kind, message = found
            return kind(message, details=_details(error))
        if is_connection_loss(error):
            return ServiceUnavailable("The database is unavailable", details={"sqlstate": state})
        return InternalError("The database refused the statement", details={"sqlstate": state})
    if is_connection_loss(error):
        return ServiceUnavailable("The database is unavailable")
    return InternalError("The database call failed")
