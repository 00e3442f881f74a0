"""Chat accounts: user names with argon2id password hashes; ``user/register`` and ``user/login`` issue tokens.

Login is the only way in: every other command needs the bearer token it answers (``AUTH_DEFAULT``).
Over WebSocket the connection is logged in at once; a page that reconnects sends the token again
with ``_auth/identify`` instead of the password. A wrong name costs the same time as a wrong password.

Limits, none of which an attacker elsewhere can turn into a lock-out:

- per name and address (``CHAT_LOGIN_BURST``/``CHAT_LOGIN_RATE``): guessing one password from one place;
- per address (``CHAT_ADDRESS_BURST``/``CHAT_ADDRESS_RATE``): trying many names from one place (spraying);
- per account, from addresses it never logged in from (``CHAT_ACCOUNT_BURST``/``CHAT_ACCOUNT_RATE``):
  guessing from many places; an address the account logged in from before is not held by it;
- sign-ups per address (``CHAT_SIGNUPS_PER_HOUR``), and password hashes at once (``CHAT_HASHING``):
  a flood of logins waits for its turn or is answered 429, and cannot starve the other calls.
"""

from __future__ import annotations

import asyncio
import math
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from betrue.config import Config, env
from betrue.server import (
    Conflict,
    Context,
    JwtAuthenticator,
    RateLimiter,
    Service,
    TooManyRequests,
    Unauthorized,
)
from betrue.server.auth import client_address
from examples.chat.commands import NAME, user

__all__ = ["Accounts", "AccountsConfig"]

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
    address_burst: int = env(
        "CHAT_ADDRESS_BURST", 30, description="Login and sign-up attempts at once per address, any name", ge=1
    )
    address_rate: float = env("CHAT_ADDRESS_RATE", 0.2, description="Of those, regained per second", ge=0.0001)
    account_burst: int = env(
        "CHAT_ACCOUNT_BURST",
        50,
        description="Login attempts at once on one account from addresses it never logged in from",
        ge=1,
    )
    account_rate: float = env("CHAT_ACCOUNT_RATE", 0.1, description="Of those, regained per second", ge=0.0001)
    signups_per_hour: int = env(
        "CHAT_SIGNUPS_PER_HOUR", 5, description="Accounts one address may create per hour", ge=1
    )
    hashing: int = env(
        "CHAT_HASHING", 1, description="Password hashes computed at once; more wait, and past 4x that: 429", ge=1
    )


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
        config = self.config
        self.attempts = RateLimiter(rate=config.login_rate, burst=config.login_burst)
        self.addresses = RateLimiter(rate=config.address_rate, burst=config.address_burst)
        self.accounts = RateLimiter(rate=config.account_rate, burst=config.account_burst)
        self.signups = RateLimiter(rate=config.signups_per_hour / 3600, burst=config.signups_per_hour)
        self._hashing = asyncio.Semaphore(config.hashing)
        self._waiting = 0
        self._known_addresses: dict[str, set[str]] = {}
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
        hashed = await self._hash(self.hasher.hash, password)
        if not await self.insert(name, name.casefold(), hashed):  # registered meanwhile, while this one hashed
            raise Conflict("This name is taken", details={"reason": "taken"})

    async def check(self, name: str, password: str) -> str | None:
        """The account's name when ``password`` is its password; an unknown name costs as long (a decoy hash)."""
        found = await self.find(name.casefold())
        hashed = found[1] if found is not None else self._decoy
        try:
            await self._hash(self.hasher.verify, hashed, password)
        except (VerificationError, InvalidHashError):
            return None
        return found[0] if found is not None else None

    async def _hash(self, work: Any, *args: Any) -> Any:
        """Run one password hash in a thread, at most ``CHAT_HASHING`` at once; 429 when too many wait."""
        if self._waiting >= 4 * self.config.hashing:
            raise TooManyRequests(
                "Too many logins at once: try again shortly", details={"reason": "busy", "retryAfter": 1}
            )
        self._waiting += 1
        try:
            async with self._hashing:
                return await asyncio.to_thread(work, *args)
        finally:
            self._waiting -= 1

    def limit(self, name: str, address: str | None, *, signup: bool = False) -> None:
        """Spend one attempt from each bucket this call counts against; 429 (none spent) when one is empty."""
        folded, place = name.casefold(), address or "unknown"
        if signup:
            self.signups.hit(f"signup:{place}")
        keys = [f"user:{folded}@{place}"]
        stranger = not signup and place not in self._known_addresses.get(folded, ())
        keys_account = [f"user:{folded}"] if stranger else []
        wait = max(
            self.attempts.retry_after(*keys),
            self.addresses.retry_after(f"ip:{place}"),
            self.accounts.retry_after(*keys_account),
        )
        if wait > 0:
            raise TooManyRequests(
                "Too many attempts", details={"reason": "rate_limited", "retryAfter": math.ceil(wait)}
            )
        self.attempts.hit(*keys)
        self.addresses.hit(f"ip:{place}")
        if keys_account:
            self.accounts.hit(*keys_account)

    def logged_in(self, name: str, address: str | None) -> None:
        """A right password: this address's attempts on the name are forgiven, and it is known to the account."""
        folded, place = name.casefold(), address or "unknown"
        self.attempts.reset(f"user:{folded}@{place}")
        known = self._known_addresses.setdefault(folded, set())
        if len(known) < 32:
            known.add(place)


async def _session(name: str, ctx: Context) -> dict[str, Any]:
    """A token for ``name``; a WebSocket connection is logged in with it at once."""
    jwt_auth: JwtAuthenticator = await ctx.service("jwt")
    token = jwt_auth.issue(name, roles=["member"])
    identity = jwt_auth.verify(token)
    if ctx.connection is not None:
        ctx.connection.identify(identity)
    return {"user": name, "token": token, "expiresAt": identity.claims["exp"]}


@user.command("register", input=CREDENTIALS, output=SESSION, auth="public", errors=[Conflict, TooManyRequests])
async def register(params: dict[str, Any], ctx: Context) -> dict[str, Any]:
    """Create an account and log in with it."""
    accounts: Accounts = await ctx.service("accounts")
    name = params["name"].strip()
    accounts.limit(name, client_address(ctx), signup=True)
    await accounts.register(name, params["password"])
    return await _session(name, ctx)


@user.command(
    "login",
    input=CREDENTIALS,
    output=SESSION,
    auth="public",
    errors=[Unauthorized, TooManyRequests],
)
async def login(params: dict[str, Any], ctx: Context) -> dict[str, Any]:
    """Log in with a name and password: answers a bearer token (and logs this WebSocket connection in)."""
    accounts: Accounts = await ctx.service("accounts")
    name = params["name"].strip()
    address = client_address(ctx)
    accounts.limit(name, address)
    account = await accounts.check(name, params["password"])
    if account is None:
        raise Unauthorized("Wrong user name or password", details={"reason": "bad_credentials"})
    accounts.logged_in(name, address)
    return await _session(account, ctx)
