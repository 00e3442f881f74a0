"""Authorization: the ``Authenticator`` interface, each command's rule, and the ``auth`` service that applies them.

Who may call a command is its rule: ``"public"``, ``"authenticated"`` or a list of roles (any one of
them will do). A command without a rule gets ``AUTH_PUBLIC`` (codes or ``fnmatch`` patterns made public)
or else ``AUTH_DEFAULT`` (``authenticated``: secure by default). The ``auth`` service turns a call's
credentials into an ``Identity`` through its authenticators, tried in order.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any, ClassVar, Literal

from pydantic import SecretStr

from betrue.config import Config, env
from betrue.server.auth._refusal import IDENTITY_HEADER, refused
from betrue.server.commands import Command
from betrue.server.context import Identity
from betrue.server.di import Service

__all__ = ["Auth", "AuthConfig", "Authenticator", "Rule", "declared_rule", "refused"]


class AuthConfig(Config):
    """Authorization"""

    default: Literal["authenticated", "public"] = env(
        "AUTH_DEFAULT", "authenticated", description="Rule of the commands that declare none: authenticated or public"
    )
    public: list[str] = env(
        "AUTH_PUBLIC",
        ["_app/health", "_app/commands"],
        description="Commands without a rule of their own that anyone may call (codes or patterns such as docs/*)",
    )
    trusted_adapters: list[str] = env(
        "AUTH_TRUSTED_ADAPTERS",
        ["job"],
        description="Entry points whose calls come from the app's own code and skip the rules (jobs it enqueued)",
    )
    service_secret: SecretStr | None = env(
        "AUTH_SERVICE_SECRET",
        None,
        min_length=32,
        description="Key shared by the apps that pass a caller's identity to each other (a random one per process "
        "when unset: identities then travel between the commands of this process only)",
    )
    assertion_ttl: float = env(
        "AUTH_ASSERTION_TTL", 60.0, description="Seconds an identity passed to another app stays valid", ge=1
    )
    clock_skew: float = env(
        "AUTH_CLOCK_SKEW", 30.0, description="Seconds of clock difference tolerated on expiry times", ge=0
    )


@dataclass(frozen=True, slots=True)
class Rule:
    """Who may call a command: anyone, any authenticated caller, or callers with one of ``roles``.

    Example:
        >>> Rule.of(["admin", "ops"]).allows(Identity("ann", roles=("ops",)))
        True
    """

    kind: Literal["public", "authenticated", "roles"]
    roles: frozenset[str] = frozenset()

    @classmethod
    def of(cls, declared: str | Sequence[str]) -> Rule:
        """The rule a command declares; an unknown word is a mistake, caught at start."""
        if declared in ("public", "authenticated"):
            return cls(declared)  # type: ignore[arg-type]
        if isinstance(declared, str):
            raise ValueError(f"auth={declared!r}: use 'public', 'authenticated' or a list of roles such as ['admin']")
        roles = frozenset(declared)
        if not roles or not all(isinstance(role, str) and role for role in roles):
            raise ValueError(f"auth={list(declared)!r}: a roles rule lists at least one role name")
        return cls("roles", roles)

    @property
    def public(self) -> bool:
        return self.kind == "public"

    def allows(self, identity: Identity) -> bool:
        return self.kind != "roles" or identity.has_role(*self.roles)

    def describe(self) -> dict[str, Any]:
        """JSON form for docs: ``{"rule": "roles", "roles": ["admin"]}``."""
        described: dict[str, Any] = {"rule": self.kind}
        if self.roles:
            described["roles"] = sorted(self.roles)
        return described


def declared_rule(command: Command) -> Rule | None:
    """The rule the command (or its group) declares itself, or None."""
    return None if command.auth is None else Rule.of(command.auth)


class Authenticator(Service):
    """Turns a call's credentials (its ``meta``: lower-case headers) into an ``Identity``.

    ``authenticate`` answers None when the call carries no credentials of its kind (the next
    authenticator is asked), and raises ``refused(reason)`` when it does but they are wrong.

    Example:
        >>> class Header(Authenticator):
        ...     name = "header-auth"
        ...     async def authenticate(self, meta):
        ...         user = meta.get("x-user")
        ...         return Identity(user) if user == "ann" else None
    """

    scheme: ClassVar[str] = ""
    """The OpenAPI security scheme name (``bearerAuth``, ``apiKeyAuth``); empty: not documented."""

    async def start(self) -> Any:
        return self

    async def authenticate(self, meta: Mapping[str, str]) -> Identity | None:
        raise NotImplementedError

    def security_scheme(self) -> dict[str, Any]:
        """The OpenAPI security scheme object of these credentials."""
        return {}


class Auth(Service):
    """The ``auth`` service: the rules, the authenticators (its deps, asked in order) and identity assertions.

    Add it with ``use_auth(app, JwtAuthenticator, ...)``, which also wires the ``_auth`` commands and
    the client hook that passes the caller's identity on to the commands a handler calls.

    Example:
        >>> from betrue.server import Application
        >>> from betrue.server.auth import JwtAuthenticator, use_auth
        >>> app = Application("shop", http=False)
        >>> spec = use_auth(app, JwtAuthenticator)  # JWT_SECRET=... in the environment
    """

    name = "auth"
    config_class = AuthConfig

    def __init__(self, config: AuthConfig | None = None, **authenticators: Any) -> None:
        super().__init__(config or AuthConfig.from_dict({}), **authenticators)
        self.config: AuthConfig = self.config
        for dep, value in authenticators.items():
            if not isinstance(value, Authenticator):
                raise TypeError(f"auth: dependency {dep!r} is a {type(value).__name__}, not an Authenticator")
        self.authenticators: list[Authenticator] = list(authenticators.values())
        self.assertions: Any = None

    async def start(self) -> Auth:
        from betrue.server.auth.assertions import IdentityAssertions

        secret = self.config.service_secret
        key = secret.get_secret_value().encode() if secret is not None else os.urandom(32)
        self.assertions = IdentityAssertions(key, ttl=self.config.assertion_ttl, leeway=self.config.clock_skew)
        return self

    def rule(self, command: Command) -> Rule:
        """The command's rule: its own, else ``AUTH_PUBLIC``, else ``AUTH_DEFAULT``."""
        declared = declared_rule(command)
        if declared is not None:
            return declared
        if any(fnmatchcase(command.code, pattern) for pattern in self.config.public):
            return Rule("public")
        return Rule(self.config.default)

    async def identify(self, meta: Mapping[str, str], code: str) -> Identity | None:
        """The caller of a call to ``code`` from its meta: an identity assertion, else each authenticator.

        Raises ``Unauthorized`` (with a reason) for credentials that are present but not valid.
        """
        assertion = meta.get(IDENTITY_HEADER)
        if assertion is not None:
            identity: Identity = self.assertions.verify(assertion, audience=code)
            return identity
        for authenticator in self.authenticators:
            found = await authenticator.authenticate(meta)
            if found is not None:
                return found
        return None

    def check_fresh(self, identity: Identity) -> None:
        """Raise 401 ``expired`` when an identity kept by an adapter (a WebSocket connection) has expired."""
        expires = identity.claims.get("exp")
        if isinstance(expires, int | float) and expires + self.config.clock_skew < time.time():
            raise refused("expired")

    def security_schemes(self) -> dict[str, dict[str, Any]]:
        """The OpenAPI security schemes of the authenticators, by scheme name."""
        return {a.scheme: a.security_scheme() for a in self.authenticators if a.scheme}
