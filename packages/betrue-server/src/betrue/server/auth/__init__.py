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

# Names load on first use: an app without authorization never imports PyJWT or cryptography.
from typing import TYPE_CHECKING

from betrue.server._lazy import lazy_exports

if TYPE_CHECKING:
    from betrue.server.auth._refusal import IDENTITY_HEADER
    from betrue.server.auth.apikeys import ApiKeyAuthenticator, ApiKeyConfig, hash_api_key, new_api_key
    from betrue.server.auth.assertions import IdentityAssertions, pass_identity
    from betrue.server.auth.base import Auth, AuthConfig, Authenticator, Rule, refused
    from betrue.server.auth.jwt import JwtAuthenticator, JwtConfig, issue_token, token_error_reason
    from betrue.server.auth.ratelimit import RateLimiter, client_address, rate_limit
    from betrue.server.auth.stage import auth_group, authorize_stage, describe_auth, security_schemes, use_auth

_EXPORTS: dict[str, str] = {
    "ApiKeyAuthenticator": "betrue.server.auth.apikeys",
    "ApiKeyConfig": "betrue.server.auth.apikeys",
    "Auth": "betrue.server.auth.base",
    "AuthConfig": "betrue.server.auth.base",
    "Authenticator": "betrue.server.auth.base",
    "IDENTITY_HEADER": "betrue.server.auth._refusal",
    "IdentityAssertions": "betrue.server.auth.assertions",
    "JwtAuthenticator": "betrue.server.auth.jwt",
    "JwtConfig": "betrue.server.auth.jwt",
    "RateLimiter": "betrue.server.auth.ratelimit",
    "Rule": "betrue.server.auth.base",
    "auth_group": "betrue.server.auth.stage",
    "authorize_stage": "betrue.server.auth.stage",
    "client_address": "betrue.server.auth.ratelimit",
    "describe_auth": "betrue.server.auth.stage",
    "hash_api_key": "betrue.server.auth.apikeys",
    "issue_token": "betrue.server.auth.jwt",
    "new_api_key": "betrue.server.auth.apikeys",
    "pass_identity": "betrue.server.auth.assertions",
    "rate_limit": "betrue.server.auth.ratelimit",
    "refused": "betrue.server.auth.base",
    "security_schemes": "betrue.server.auth.stage",
    "token_error_reason": "betrue.server.auth.jwt",
    "use_auth": "betrue.server.auth.stage",
}


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

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, __all__)
