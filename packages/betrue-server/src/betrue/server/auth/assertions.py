"""A caller's identity passed from one betrue app to the commands it calls: short-lived signed assertions.

When a handler calls another command (``ctx.client.call``), in this process or another app, the client
adds ``x-betrue-identity``: a JWT (HS256, ``AUTH_SERVICE_SECRET``) holding the caller's subject, roles
and claims, for one command (``aud`` is its code), valid ``AUTH_ASSERTION_TTL`` seconds and never past
the original credentials' expiry. The called app trusts it only with a valid signature.

The threat: anyone who can reach an upstream app directly (a neighbour on the network, a compromised
browser, a misrouted request) sending headers that claim to be another user. Without the service key
no assertion can be made; one that was captured works for a single command and for a minute at most.
What it does not defend against: an app that holds the key can speak for any user, so the key is
given to the apps of one trust domain only, and a user's own token is not what crosses it.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import jwt

from betrue.server.auth._refusal import IDENTITY_HEADER, refused
from betrue.server.auth._tokens import token_error_reason
from betrue.server.context import Identity

if TYPE_CHECKING:
    from betrue.server.application import Application
    from betrue.server.client._calls import Call, ClientMiddleware, Envelope, Send

__all__ = ["IdentityAssertions", "pass_identity"]

_ISSUER = "betrue"


class IdentityAssertions:
    """Signs and verifies identity assertions with one shared key.

    Example:
        >>> assertions = IdentityAssertions(b"k" * 32, ttl=60)
        >>> token = assertions.sign(Identity("ann", roles=("admin",)), audience="game/load")
        >>> assertions.verify(token, audience="game/load").roles
        ('admin',)
    """

    __slots__ = ("key", "leeway", "ttl")

    def __init__(self, key: bytes, *, ttl: float = 60.0, leeway: float = 30.0) -> None:
        self.key = key
        self.ttl = ttl
        self.leeway = leeway

    def sign(self, identity: Identity, *, audience: str, now: float | None = None) -> str:
        issued = int(time.time() if now is None else now)
        expires = issued + int(self.ttl)
        original = identity.claims.get("exp")
        if isinstance(original, int | float):
            expires = min(expires, int(original))
        payload: dict[str, Any] = {
            "iss": _ISSUER,
            "sub": identity.subject,
            "aud": audience,
            "iat": issued,
            "exp": expires,
            "roles": list(identity.roles),
            "claims": dict(identity.claims),
        }
        return jwt.encode(payload, self.key, algorithm="HS256")

    def verify(self, token: str, *, audience: str) -> Identity:
        """The identity asserted for a call to ``audience``; 401 with a reason code when not valid."""
        try:
            payload = jwt.decode(
                token,
                self.key,
                algorithms=["HS256"],
                audience=audience,
                issuer=_ISSUER,
                leeway=self.leeway,
                options={"require": ["exp", "sub", "aud"]},
            )
        except jwt.PyJWTError as error:
            raise refused(token_error_reason(error)) from None
        roles, claims = payload.get("roles", []), payload.get("claims", {})
        if not isinstance(roles, list) or not isinstance(claims, dict):
            raise refused("malformed")
        return Identity(str(payload["sub"]), roles=tuple(str(role) for role in roles), claims=claims)


def pass_identity(app: Application) -> ClientMiddleware:
    """The client middleware that adds the current caller's identity assertion to every outgoing call.

    Calls made outside a call (at start, from a timer) or on behalf of an anonymous caller carry none;
    nor do calls to other apps while ``AUTH_SERVICE_SECRET`` is unset (no other app could verify them:
    those carry the caller's forwarded ``authorization`` only, which the other app verifies itself).
    """

    async def sign_identity(call: Call, send: Send) -> Envelope:
        ctx = call.ctx
        if ctx is not None and ctx.identity is not None and app.container.has("auth"):
            auth = app.service("auth")
            if auth.config.service_secret is not None or call.target == "local":
                assertions: IdentityAssertions = auth.assertions
                call.meta[IDENTITY_HEADER] = assertions.sign(ctx.identity, audience=call.code)
        return await send(call)

    return sign_identity
