"""Why PyJWT rejected a token, as the stable reason code a 401's ``details.reason`` carries."""

from __future__ import annotations

import jwt

__all__ = ["token_error_reason"]


def token_error_reason(error: jwt.PyJWTError) -> str:
    """The stable reason code of a rejected token: what a 401's ``details.reason`` says.

    Example:
        >>> token_error_reason(jwt.ExpiredSignatureError())
        'expired'
    """
    # InvalidSignatureError is a DecodeError: the specific classes come first.
    for kind, reason in _REASONS:
        if isinstance(error, kind):
            return reason
    return "invalid"


_REASONS: tuple[tuple[type[jwt.PyJWTError], str], ...] = (
    (jwt.ExpiredSignatureError, "expired"),
    (jwt.InvalidSignatureError, "bad_signature"),
    (jwt.InvalidAudienceError, "wrong_audience"),
    (jwt.InvalidIssuerError, "wrong_issuer"),
    (jwt.ImmatureSignatureError, "not_yet_valid"),
    (jwt.MissingRequiredClaimError, "missing_claim"),
    (jwt.InvalidAlgorithmError, "bad_algorithm"),
    (jwt.DecodeError, "malformed"),
)
