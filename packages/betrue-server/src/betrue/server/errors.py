"""The one error catalogue every transport speaks, with a registry to rebuild errors from envelopes."""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "BadGateway",
    "BetrueError",
    "Conflict",
    "Forbidden",
    "GatewayTimeout",
    "InternalError",
    "MethodNotAllowed",
    "NotFound",
    "PayloadTooLarge",
    "RequestTimeout",
    "ServiceUnavailable",
    "StartError",
    "TooManyRequests",
    "Unauthorized",
    "UnsupportedMediaType",
    "ValidationError",
    "error_class",
    "error_for_code",
    "error_from_envelope",
]

_REGISTRY: dict[str, type[BetrueError]] = {}


class BetrueError(Exception):
    """Base of every error a command may raise; rendered as the error envelope.

    Subclasses set ``code`` (HTTP-like) and ``status`` (a stable string). A user's own error class
    with a new ``status`` is registered too, so it crosses transports intact.

    Example:
        >>> class BoardFull(Conflict):
        ...     status = "BoardFull"
        >>> BoardFull("board 4 is full", details={"board": 4}).to_error()
        {'message': 'board 4 is full', 'details': {'board': 4}}

    Two classes may not claim the same ``status``: the second one fails where it is defined, naming
    both, since an envelope with that status could not say which of them to rebuild.
    """

    code: ClassVar[int] = 500
    status: ClassVar[str] = "InternalError"
    default_message: ClassVar[str] = "Internal error"

    def __init__(self, message: str | None = None, *, details: Any = None) -> None:
        self.message = message or self.default_message
        self.details = details
        super().__init__(self.message)

    def __init_subclass__(cls, register: bool = True, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if register and "status" in cls.__dict__:
            known = _REGISTRY.get(cls.status)
            if known is not None and _where(known) != _where(cls):
                raise TypeError(
                    f"error status {cls.status!r} of {_where(cls)} is already the status of {_where(known)}: "
                    "give one of them another status"
                )
            _REGISTRY[cls.status] = cls

    def to_error(self) -> dict[str, Any]:
        """The ``error`` member of the envelope."""
        body: dict[str, Any] = {"message": self.message}
        if self.details is not None:
            body["details"] = self.details
        return body

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, details={self.details!r})"


class ValidationError(BetrueError):
    code = 400
    status = "ValidationError"
    default_message = "Invalid input"


class Unauthorized(BetrueError):
    code = 401
    status = "Unauthorized"
    default_message = "Authentication required"


class Forbidden(BetrueError):
    code = 403
    status = "Forbidden"
    default_message = "Not allowed"


class NotFound(BetrueError):
    code = 404
    status = "NotFound"
    default_message = "Not found"


class MethodNotAllowed(BetrueError):
    code = 405
    status = "MethodNotAllowed"
    default_message = "Method not allowed"


class RequestTimeout(BetrueError):
    code = 408
    status = "RequestTimeout"
    default_message = "Request took too long to arrive"


class Conflict(BetrueError):
    code = 409
    status = "Conflict"
    default_message = "Conflict"


class PayloadTooLarge(BetrueError):
    code = 413
    status = "PayloadTooLarge"
    default_message = "Payload too large"


class UnsupportedMediaType(BetrueError):
    code = 415
    status = "UnsupportedMediaType"
    default_message = "Unsupported media type"


class TooManyRequests(BetrueError):
    code = 429
    status = "TooManyRequests"
    default_message = "Too many requests"


class InternalError(BetrueError):
    code = 500
    status = "InternalError"
    default_message = "Internal error"


class BadGateway(BetrueError):
    code = 502
    status = "BadGateway"
    default_message = "Bad gateway"


class ServiceUnavailable(BetrueError):
    code = 503
    status = "ServiceUnavailable"
    default_message = "Service unavailable"


class GatewayTimeout(BetrueError):
    code = 504
    status = "GatewayTimeout"
    default_message = "Gateway timeout"


_REGISTRY["InternalError"] = InternalError
_BY_CODE: tuple[type[BetrueError], ...] = tuple(_REGISTRY.values())


def _where(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def error_class(status: str) -> type[BetrueError] | None:
    """The registered class for ``status``, or None."""
    return _REGISTRY.get(status)


def error_for_code(code: int) -> type[BetrueError]:
    """The catalogue's class for an HTTP-like ``code``; unknown 4xx codes map to ValidationError, others to 500.

    Example:
        >>> error_for_code(413).__name__, error_for_code(418).__name__
        ('PayloadTooLarge', 'ValidationError')
    """
    for cls in _BY_CODE:
        if cls.code == code:
            return cls
    return ValidationError if 400 <= code < 500 else InternalError


def error_from_envelope(envelope: dict[str, Any]) -> BetrueError:
    """Rebuild the error an envelope describes; unknown statuses keep their code and status.

    Example:
        >>> err = error_from_envelope({"code": 404, "status": "NotFound", "error": {"message": "no"}})
        >>> type(err).__name__, err.message
        ('NotFound', 'no')
    """
    status = str(envelope.get("status", "InternalError"))
    raw = envelope.get("error")
    body: dict[str, Any] = raw if isinstance(raw, dict) else {}
    message = str(body.get("message", "")) or None
    details = body.get("details")
    cls = _REGISTRY.get(status)
    if cls is not None:
        return cls(message, details=details)
    code = envelope.get("code")
    # Not registered: a remote peer must not be able to grow our registry.
    namespace = {"code": code if isinstance(code, int) else 500, "status": status}
    unknown: type[BetrueError] = type(status, (BetrueError,), namespace, register=False)
    return unknown(message, details=details)


class StartError(Exception):
    """A service cannot start, for a reason its message fully states (a template error, a bad file).

    ``betrue run`` prints it on one line, without a traceback, and exits with code 1.

    Example:
        >>> raise StartError("template index.tmpl.html line 3: config('TITEL'): no such config value")
        Traceback (most recent call last):
        ...
        betrue.server.errors.StartError: template index.tmpl.html line 3: config('TITEL'): no such config value
    """
