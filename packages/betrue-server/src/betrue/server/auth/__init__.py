"""Authorization: authenticators turn credentials into identities, each command's rule decides who may call.

Example:
    >>> from betrue.server import Application, Group
    >>> from betrue.server.auth import JwtAuthenticator, use_auth
    >>> admin = Group("admin", auth=["admin"])          # every command of the group: role admin
    >>> @admin.command("purge")
    ... async def purge(params, ctx):
    ...     return {"by": ctx.identity.subject}
    >>> app = Application("shop", groups=[admin], http=False)
    >>> spec = use_auth(app, JwtAuthenticator)         # JWT_SECRET=... ; everything else: authenticated
"""

from betrue.server.auth.apikeys import ApiKeyAuthenticator, ApiKeyConfig, hash_api_key, new_api_key
from betrue.server.auth.assertions import IdentityAssertions, pass_identity
from betrue.server.auth.base import IDENTITY_HEADER, Auth, AuthConfig, Authenticator, Rule, refused
from betrue.server.auth.jwt import JwtAuthenticator, JwtConfig, issue_token, token_error_reason
from betrue.server.auth.ratelimit import RateLimiter, client_address, rate_limit
from betrue.server.auth.stage import auth_group, authorize_stage, describe_auth, security_schemes, use_auth

__all__ = [
    "IDENTITY_HEADER",
    "ApiKeyAuthenticator",
    "ApiKeyConfig",
    "Auth",
    "AuthConfig",
    "Authenticator",
    "IdentityAssertions",
    "JwtAuthenticator",
    "JwtConfig",
    "RateLimiter",
    "Rule",
    "auth_group",
    "authorize_stage",
    "client_address",
    "describe_auth",
    "hash_api_key",
    "issue_token",
    "new_api_key",
    "pass_identity",
    "rate_limit",
    "refused",
    "security_schemes",
    "token_error_reason",
    "use_auth",
]
