"""What every authenticator answers when credentials fail: a 401 with a stable reason, nothing more."""

from __future__ import annotations

from betrue.server.errors import Unauthorized

__all__ = ["IDENTITY_HEADER", "refused"]

IDENTITY_HEADER = "x-betrue-identity"
"""The meta key of a signed identity assertion from another betrue app (see ``betrue.server.auth.assertions``)."""


def refused(reason: str, message: str = "Invalid credentials") -> Unauthorized:
    """The 401 for ``reason`` (a stable code such as ``expired``); never more detail than that.

    Example:
        >>> refused("expired").details
        {'reason': 'expired'}
    """
    return Unauthorized(message, details={"reason": reason})
