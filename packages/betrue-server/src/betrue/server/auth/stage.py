"""The ``authorize`` pipeline stage, ``use_auth`` that turns authorization on, and what docs say about it.

Without an ``auth`` service an app is open: its commands run for anyone, as before authorization
existed, except a command that declares a rule of its own (``auth="authenticated"`` or roles), which
answers 401 ``no_authenticator`` instead of running unprotected (and says so in a warning at start).
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from loguru import logger

from betrue.server.auth.base import Auth, Authenticator, Rule, declared_rule, refused
from betrue.server.commands import Command, Group
from betrue.server.context import Context, Identity
from betrue.server.errors import Forbidden, Unauthorized
from betrue.server.response import Response
from betrue.server.types import CallNext, Middleware

if TYPE_CHECKING:
    from betrue.server.application import Application
    from betrue.server.di import ServiceSpec

__all__ = ["auth_group", "authorize_stage", "describe_auth", "security_schemes", "use_auth"]


def authorize_stage(app: Application, command: Command) -> Middleware | None:
    """The stage factory (``app.stage_factories``): the command's rule, applied before its middlewares."""
    if not app.container.has("auth"):
        rule = declared_rule(command)
        if rule is None or rule.public:
            return None
        logger.warning("{} declares auth {} but the app has no auth service: every call is refused", command.code, rule)
        return _no_authenticator
    auth: Auth = app.service("auth")
    rule = auth.rule(command)
    trusted = frozenset(auth.config.trusted_adapters)
    if rule.public:
        return _optional(auth, trusted)
    return _required(auth, rule, trusted)


async def _no_authenticator(ctx: Context, params: Any, call_next: CallNext) -> Response:
    return Response.from_error(refused("no_authenticator", "This command needs an authenticator the app lacks"))


def _optional(auth: Auth, trusted: frozenset[str]) -> Middleware:
    """Public commands run for anyone; a caller with valid credentials is still known to the handler."""

    async def identify_if_known(ctx: Context, params: Any, call_next: CallNext) -> Response:
        if ctx.adapter not in trusted:
            try:
                if ctx.identity is None:
                    ctx.identity = await auth.identify(ctx.meta, ctx.code)
                else:
                    auth.check_fresh(ctx.identity)
            except Unauthorized:
                ctx.identity = None
        return await call_next(ctx, params)

    return identify_if_known


def _required(auth: Auth, rule: Rule, trusted: frozenset[str]) -> Middleware:
    async def authorize(ctx: Context, params: Any, call_next: CallNext) -> Response:
        if ctx.adapter in trusted:
            return await call_next(ctx, params)
        identity = ctx.identity
        try:
            if identity is None:
                identity = await auth.identify(ctx.meta, ctx.code)
            else:
                auth.check_fresh(identity)
        except Unauthorized as error:
            return Response.from_error(error)
        if identity is None:
            return Response.from_error(refused("missing", "Authentication required"))
        if not rule.allows(identity):
            return Response.from_error(Forbidden("Not allowed", details={"reason": "missing_role"}))
        ctx.identity = identity
        return await call_next(ctx, params)

    return authorize


def auth_group() -> Group:
    """``_auth/identify`` and ``_auth/forget``: a WebSocket connection logs in (and out) with a token.

    Over WebSocket the identity is kept on the connection for the calls that follow; when it expires,
    calls answer 401 ``expired`` and the connection is pushed ``auth.expired`` so the client can send a
    fresh token (``_auth/identify`` again). Over HTTP ``_auth/identify`` just says who a token is.
    """
    group = Group("_auth", description="Credentials of a connection")
    token_schema = {
        "type": "object",
        "required": ["token"],
        "properties": {"token": {"type": "string", "minLength": 1, "maxLength": 8192}},
        "additionalProperties": False,
    }

    @group.command("identify", input=token_schema, auth="public", description="Who a bearer token is")
    async def identify(params: Any, ctx: Context) -> dict[str, Any]:
        auth: Auth = ctx.app.service("auth")
        identity = await auth.identify({"authorization": f"Bearer {params['token']}"}, ctx.code)
        if identity is None:
            raise refused("missing", "Authentication required")
        connection = ctx.connection
        if connection is not None and hasattr(connection, "identify"):
            connection.identify(identity)
            _announce_expiry(connection, identity)
        expires = identity.claims.get("exp")
        return {"subject": identity.subject, "roles": list(identity.roles), "expiresAt": expires}

    @group.command("forget", auth="public", description="Forget the identity of this connection")
    async def forget(params: Any, ctx: Context) -> dict[str, Any]:
        connection = ctx.connection
        if connection is not None and hasattr(connection, "identify"):
            connection.identify(None)
        return {"subject": None}

    return group


def _announce_expiry(connection: Any, identity: Identity) -> None:
    expires = identity.claims.get("exp")
    if not isinstance(expires, int | float) or not hasattr(connection, "send"):
        return

    def expired() -> None:
        if connection.identity is identity:
            connection.send("auth.expired", {"subject": identity.subject})

    asyncio.get_running_loop().call_later(max(expires - time.time(), 0), expired)


def use_auth(app: Application, *authenticators: type[Authenticator] | str, **config: Any) -> ServiceSpec:
    """Turn authorization on: add the authenticators and the ``auth`` service, ``_auth/*``, identity passing.

    ``authenticators`` are classes (added as services under their ``name`` unless one exists) or the
    names of services already added, asked in this order; ``config`` overrides ``AuthConfig`` values.
    Call it before the app starts.

    Example:
        >>> from betrue.server import Application
        >>> from betrue.server.auth import ApiKeyAuthenticator, JwtAuthenticator
        >>> app = Application("shop", http=False)
        >>> use_auth(app, JwtAuthenticator, ApiKeyAuthenticator).deps
        {'jwt': 'jwt', 'apikeys': 'apikeys'}
    """
    names: list[str] = []
    for authenticator in authenticators:
        if isinstance(authenticator, str):
            names.append(authenticator)
            continue
        if authenticator.name not in app.container.specs:
            app.add_service(authenticator)
        names.append(authenticator.name)
    spec = app.add_service(Auth, deps={name.replace("-", "_"): name for name in names}, config=config or None)
    app.include(auth_group())
    from betrue.server.auth.assertions import pass_identity  # PyJWT: loaded only when auth is used

    app.client.add_middleware(pass_identity(app))
    return spec


def describe_auth(app: Application, command: Command) -> dict[str, Any] | None:
    """What docs say about who may call ``command``: ``{"rule": ..., "roles": [...]}``, or None when open.

    Before start (or without an ``auth`` service) the rule comes from the command and the config defaults.
    """
    declared = declared_rule(command)
    if app.container.has("auth"):
        auth: Auth = app.service("auth")
        return auth.rule(command).describe()
    if "auth" in app.container.specs:
        return (declared or Auth().rule(command)).describe()
    return declared.describe() if declared is not None else None


def security_schemes(app: Application) -> dict[str, dict[str, Any]]:
    """The OpenAPI ``securitySchemes`` of the app's authenticators (from their defaults before start)."""
    if app.container.has("auth"):
        started: Auth = app.service("auth")
        return started.security_schemes()
    spec = app.container.specs.get("auth")
    schemes: dict[str, dict[str, Any]] = {}
    for name in spec.deps.values() if spec is not None else ():
        factory = app.container.specs[name].factory if name in app.container.specs else None
        if isinstance(factory, type) and issubclass(factory, Authenticator) and factory.scheme:
            config_class = factory.config_class
            # Defaults, unvalidated: the values only the environment has (keys, secrets) are not needed here.
            defaults = config_class.model_construct() if config_class is not None else None
            schemes[factory.scheme] = factory(defaults).security_scheme()
    return schemes
