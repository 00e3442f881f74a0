"""Bearer tokens (JWT, through PyJWT): ``Authorization: Bearer <token>`` verified, and issued at login.

One algorithm per app, set in config, and only that one is accepted (a token cannot pick ``none`` or
swap an RSA public key in as an HMAC secret). HS256/384/512 use a shared secret; RS256, ES256 and EdDSA
verify with a public key, so apps that only check tokens never hold the key that makes them.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import jwt
from pydantic import SecretStr, model_validator

from betrue.config import Config, env
from betrue.server.auth._refusal import refused
from betrue.server.auth._tokens import token_error_reason
from betrue.server.auth.base import Authenticator
from betrue.server.context import Identity

__all__ = ["JwtAuthenticator", "JwtConfig", "issue_token", "token_error_reason"]

Algorithm = Literal["HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "ES256", "ES384", "EdDSA"]
_REGISTERED = frozenset({"exp", "iat", "nbf", "iss", "aud", "sub", "jti"})


class JwtConfig(Config):
    """Bearer tokens (JWT)"""

    algorithm: Algorithm = env("JWT_ALGORITHM", "HS256", description="The one signing algorithm accepted")
    secret: SecretStr | None = env(
        "JWT_SECRET", None, min_length=32, description="Shared key of HS256/384/512 tokens (32+ characters)"
    )
    public_key: str = env(
        "JWT_PUBLIC_KEY", "", description="PEM public key, or a path to one, that verifies RS/ES/EdDSA tokens"
    )
    private_key: SecretStr | None = env(
        "JWT_PRIVATE_KEY",
        None,
        description="PEM private key, or a path to one, that signs RS/ES/EdDSA tokens (the app that logs users in)",
    )
    issuer: str = env("JWT_ISSUER", "", description="Expected (and issued) 'iss'; empty: not checked")
    audience: str = env("JWT_AUDIENCE", "", description="Expected (and issued) 'aud'; empty: tokens must have none")
    leeway: float = env("JWT_LEEWAY", 30.0, description="Seconds of clock skew tolerated on exp/nbf/iat", ge=0)
    ttl: float = env("JWT_TTL", 3600.0, description="Lifetime of the tokens this app issues, in seconds", ge=1)
    roles_claim: str = env("JWT_ROLES_CLAIM", "roles", description="Claim with the roles (a list or a spaced string)")

    @model_validator(mode="after")
    def _keys_for_algorithm(self) -> JwtConfig:
        if self.algorithm.startswith("HS"):
            if self.secret is None:
                raise ValueError(f"JWT_SECRET is required for {self.algorithm}")
        elif not self.public_key and self.private_key is None:
            raise ValueError(f"JWT_PUBLIC_KEY (or JWT_PRIVATE_KEY) is required for {self.algorithm}")
        return self


def _pem(value: str) -> str:
    """A PEM given inline, or read from the path given instead."""
    return value if value.lstrip().startswith("-----BEGIN") else Path(value).expanduser().read_text()


def issue_token(
    key: str | bytes,
    subject: str,
    *,
    roles: Sequence[str] = (),
    algorithm: str = "HS256",
    ttl: float = 3600.0,
    issuer: str | None = None,
    audience: str | None = None,
    claims: Mapping[str, Any] | None = None,
    roles_claim: str = "roles",
    now: float | None = None,
) -> str:
    """A signed token for ``subject``: ``sub``, ``iat``, ``exp`` (now + ``ttl``), roles and extra claims.

    ``key`` is the shared secret (HS*) or a PEM private key (RS*, ES*, EdDSA). Inside an app, prefer
    ``JwtAuthenticator.issue`` which uses the app's configured key, issuer, audience and lifetime.

    Example:
        >>> token = issue_token("s" * 32, "ann", roles=["admin"], ttl=60)
        >>> jwt.decode(token, "s" * 32, algorithms=["HS256"])["roles"]
        ['admin']
    """
    issued = int(time.time() if now is None else now)
    payload: dict[str, Any] = {**(claims or {}), "sub": subject, "iat": issued, "exp": issued + int(ttl)}
    if roles:
        payload[roles_claim] = list(roles)
    if issuer:
        payload["iss"] = issuer
    if audience:
        payload["aud"] = audience
    return jwt.encode(payload, key, algorithm=algorithm)


class JwtAuthenticator(Authenticator):
    """Accepts ``Authorization: Bearer <JWT>`` signed with the configured algorithm and key (service ``jwt``).

    Checks the signature, ``exp`` (required), ``nbf``/``iat``, and ``iss``/``aud`` when configured, with
    ``JWT_LEEWAY`` of clock skew; the identity's subject is ``sub``, its roles ``JWT_ROLES_CLAIM``, its
    claims the whole payload. Every refusal is a 401 whose only detail is a reason code.

    Example:
        >>> async def login(params, ctx):  # doctest: +SKIP
        ...     jwt_auth = await ctx.service("jwt")
        ...     return {"token": jwt_auth.issue(params["name"], roles=["member"])}
    """

    name = "jwt"
    config_class = JwtConfig
    scheme = "bearerAuth"

    def __init__(self, config: JwtConfig | None = None, **deps: Any) -> None:
        super().__init__(config, **deps)
        self.config: JwtConfig = config if config is not None else JwtConfig.from_dict({})
        self._verify_key: Any = None
        self._sign_key: Any = None

    async def start(self) -> JwtAuthenticator:
        config = self.config
        if config.algorithm.startswith("HS"):
            assert config.secret is not None
            self._verify_key = self._sign_key = config.secret.get_secret_value()
        else:
            if config.private_key is not None:
                self._sign_key = _pem(config.private_key.get_secret_value())
            self._verify_key = _pem(config.public_key) if config.public_key else _public_of(self._sign_key)
        return self

    async def authenticate(self, meta: Mapping[str, str]) -> Identity | None:
        header = meta.get("authorization")
        if header is None:
            return None
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer":
            return None  # another kind of credentials: another authenticator's
        token = token.strip()
        if not token:
            raise refused("malformed")
        return self.verify(token)

    def verify(self, token: str) -> Identity:
        """The identity a token proves; raises 401 with the reason (``expired``, ``bad_signature``, ...)."""
        config = self.config
        try:
            claims = jwt.decode(
                token,
                self._verify_key,
                algorithms=[config.algorithm],
                audience=config.audience or None,
                issuer=config.issuer or None,
                leeway=config.leeway,
                options={"require": ["exp", "sub"]},
            )
        except jwt.PyJWTError as error:
            raise refused(token_error_reason(error)) from None
        roles = claims.get(config.roles_claim, ())
        if isinstance(roles, str):
            roles = roles.split()
        if not isinstance(roles, list | tuple) or not all(isinstance(role, str) for role in roles):
            raise refused("malformed")
        return Identity(str(claims["sub"]), roles=tuple(roles), claims=claims)

    def issue(
        self,
        subject: str,
        *,
        roles: Sequence[str] = (),
        claims: Mapping[str, Any] | None = None,
        ttl: float | None = None,
    ) -> str:
        """A token for ``subject`` with this app's key, issuer, audience and ``JWT_TTL``."""
        if self._sign_key is None:
            raise RuntimeError("this app cannot issue tokens: set JWT_PRIVATE_KEY (or JWT_SECRET for HS*)")
        extra = {key: value for key, value in (claims or {}).items() if key not in _REGISTERED}
        config = self.config
        return issue_token(
            self._sign_key,
            subject,
            roles=roles,
            algorithm=config.algorithm,
            ttl=ttl if ttl is not None else config.ttl,
            issuer=config.issuer or None,
            audience=config.audience or None,
            claims=extra,
            roles_claim=config.roles_claim,
        )

    def security_scheme(self) -> dict[str, Any]:
        return {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}


def _public_of(private_pem: str) -> Any:
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    return load_pem_private_key(private_pem.encode(), password=None).public_key()
