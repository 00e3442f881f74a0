"""Chat accounts: user names with argon2id password hashes; ``user/register`` and ``user/login`` issue tokens.

Login is the only way in: every other command needs the bearer token it answers (``AUTH_DEFAULT``).
Over WebSocket the connection is logged in at once; a page that reconnects sends the token again
with ``_auth/identify`` instead of the password. Attempts are rate limited per user name and per
client address, and a wrong name costs the same time as a wrong password.
"""

from __future__ import annotations

import asyncio
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from betrue.config import Config, env
from betrue.server import Conflict, Context, JwtAuthenticator, RateLimiter, Service, TooManyRequests, Unauthorized
from betrue.server.auth import client_address
from examples.chat.commands import NAME, user

__all__ = ["Accounts", "AccountsConfig", "rate_limit"]

PASSWORD = {"type": "string", "minLength": 8, "maxLength": 200, "description": "At least 8 characters"}
CREDENTIALS = {
    "type": "object",
    "properties": {"name": NAME, "password": PASSWORD},
    "required": ["name", "password"],
    "additionalProperties": False,
}
SESSION = {
    "type": "object",
    "properties": {
        "user": {"type": "string"},
        "token": {"type": "string", "description": "Bearer token (HTTP: Authorization; WebSocket: _auth/identify)"},
        "expiresAt": {"type": "integer", "description": "When the token expires (Unix seconds)"},
    },
    "required": ["user", "token", "expiresAt"],
}


class AccountsConfig(Config):
    """Chat accounts"""

    argon2_time: int = env("CHAT_ARGON2_TIME", 2, description="argon2id passes over memory per password hash", ge=1)
    argon2_memory: int = env(
        "CHAT_ARGON2_MEMORY", 19456, description="argon2id memory per password hash, in KiB (OWASP: 19456)", ge=8
    )
    login_burst: int = env("CHAT_LOGIN_BURST", 10, description="Login attempts allowed at once per name and address")
    login_rate: float = env("CHAT_LOGIN_RATE", 0.1, description="Login attempts regained per second", ge=0.0001)


class Accounts(Service):
    """Users and their password hashes (``accounts``): in memory here, in PostgreSQL in ``PostgresAccounts``.

    Subclasses keep the accounts elsewhere by overriding ``find`` and ``insert``.
    """

    name = "accounts"
    config_class = AccountsConfig

    def __init__(self, config: AccountsConfig | None = None, **deps: Any) -> None:
        super().__init__(config or AccountsConfig.from_dict({}), **deps)
        self.config: AccountsConfig = self.config
        self.hasher = PasswordHasher(time_cost=self.config.argon2_time, memory_cost=self.config.argon2_memory)
        self.attempts = RateLimiter(rate=self.config.login_rate, burst=self.config.login_burst)
        self._hashes: dict[str, str] = {}
        self._names: dict[str, str] = {}  # case-folded -> as registered: "ANN" logs in as "ann"
        self._decoy = self.hasher.hash("a password nobody has")

    async def find(self, folded: str) -> tuple[str, str] | None:
        """(name as registered, password hash) of the account whose case-folded name is ``folded``."""
        if folded not in self._hashes:
            return None
        return self._names[folded], self._hashes[folded]

    async def insert(self, name: str, folded: str, hashed: str) -> bool:
        """Store a new account; False when the (case-folded) name is taken."""
        if folded in self._hashes:
            return False
        self._hashes[folded] = hashed
        self._names[folded] = name
        return True

    async def register(self, name: str, password: str) -> None:
        if await self.find(name.casefold()) is not None:
            raise Conflict("This name is taken", details={"reason": "taken"})
        hashed = await asyncio.to_thread(self.hasher.hash, password)
        if not await self.insert(name, name.casefold(), hashed):  # registered meanwhile, while this one hashed
            raise Conflict("This name is taken", details={"reason": "taken"})

    async def check(self, name: str, password: str) -> str | None:
        """The account's name when ``password`` is its password; an unknown name costs as long (a decoy hash)."""
        found = await self.find(name.casefold())
        hashed = found[1] if found is not None else self._decoy
        try:
            await asyncio.to_thread(self.hasher.verify, hashed, password)
        except (VerificationError, InvalidHashError):
            return None
        return found[0] if found is not None else None


async def _session(name: str, ctx: Context) -> dict[str, Any]:
    """A token for ``name``; a WebSocket connection is logged in with it at once."""
    jwt_auth: JwtAuthenticator = await ctx.service("jwt")
    token = jwt_auth.issue(name, roles=["member"])
    identity = jwt_auth.verify(token)
    if ctx.connection is not None:
        ctx.connection.identify(identity)
    return {"user": name, "token": token, "expiresAt": identity.claims["exp"]}


def rate_limit(accounts: Accounts, name: str, ctx: Context) -> None:
    """Count one login or register attempt for ``name`` and the caller's address; 429 past the limit."""
    keys = [f"user:{name.casefold()}"]
    address = client_address(ctx)
    if address is not None:
        keys.append(f"ip:{address}")
    accounts.attempts.hit(*keys)


@user.command("register", input=CREDENTIALS, output=SESSION, auth="public", errors=[Conflict, TooManyRequests])
async def register(params: dict[str, Any], ctx: Context) -> dict[str, Any]:
    """Create an account and log in with it."""
    accounts: Accounts = await ctx.service("accounts")
    name = params["name"].strip()
    rate_limit(accounts, name, ctx)
    await accounts.register(name, params["password"])
    return await _session(name, ctx)


@user.command("login", input=CREDENTIALS, output=SESSION, auth="public", errors=[Unauthorized, TooManyRequests])
async def login(params: dict[str, Any], ctx: Context) -> dict[str, Any]:
    """Log in with a name and password: answers a bearer token (and logs this WebSocket connection in)."""
    accounts: Accounts = await ctx.service("accounts")
    name = params["name"].strip()
    rate_limit(accounts, name, ctx)
    account = await accounts.check(name, params["password"])
    if account is None:
        raise Unauthorized("Wrong user name or password", details={"reason": "bad_credentials"})
    accounts.attempts.reset(f"user:{name.casefold()}")
    return await _session(account, ctx)
