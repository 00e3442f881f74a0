"""API keys from config: only their sha256 is stored, and a presented key is compared in constant time.

A key is a long random string (``new_api_key``); config holds ``<subject>:<sha256 hex>[:<role>|<role>]``
entries, so a leaked config or env dump does not leak working keys. Every stored hash is compared with
``hmac.compare_digest`` on every request, so neither the time taken nor an early exit tells an attacker
how much of a guess was right or which entry it came close to.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr, field_validator

from betrue.config import Config, env
from betrue.server.auth.base import Authenticator, refused
from betrue.server.context import Identity

__all__ = ["ApiKey", "ApiKeyAuthenticator", "ApiKeyConfig", "hash_api_key", "new_api_key", "parse_api_key_entry"]

_ENTRY = re.compile(r"(?P<subject>[^:\s]+):(?P<digest>[0-9a-fA-F]{64})(?::(?P<roles>[^:\s]*))?")


def hash_api_key(key: str) -> str:
    """The sha256 hex digest config stores for ``key``.

    Example:
        >>> hash_api_key("k")[:16]
        '8254c329a92850f6'
    """
    return hashlib.sha256(key.encode()).hexdigest()


def new_api_key() -> str:
    """A fresh random key (256 bits, URL-safe) to hand to a client; store ``hash_api_key`` of it."""
    return secrets.token_urlsafe(32)


@dataclass(frozen=True, slots=True)
class ApiKey:
    """One accepted key: who it stands for, the digest of the key, the roles it grants."""

    subject: str
    digest: bytes
    roles: tuple[str, ...] = ()


def parse_api_key_entry(entry: str) -> ApiKey:
    """``ci:<sha256 hex>:deploy|read`` as an ``ApiKey``; raises ValueError without echoing the entry.

    Example:
        >>> parse_api_key_entry("ci:" + hash_api_key("k") + ":deploy|read").roles
        ('deploy', 'read')
    """
    match = _ENTRY.fullmatch(entry.strip())
    if match is None:
        raise ValueError("an API key entry is <subject>:<sha256 hex of the key>[:<role>|<role>...]")
    roles = tuple(role for role in (match["roles"] or "").split("|") if role)
    return ApiKey(match["subject"], bytes.fromhex(match["digest"]), roles)


class ApiKeyConfig(Config):
    """API keys"""

    keys: list[SecretStr] = env(
        "API_KEYS",
        [],
        description="Accepted keys: <subject>:<sha256 hex of the key>[:<role>|<role>...], comma-separated",
        example="ci:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08:deploy|read",
    )
    header: str = env("API_KEY_HEADER", "x-api-key", description="Request header (or meta key) carrying the key")

    @field_validator("keys")
    @classmethod
    def _parse(cls, value: list[SecretStr]) -> list[SecretStr]:
        for index, entry in enumerate(value):
            try:
                parse_api_key_entry(entry.get_secret_value())
            except ValueError as error:
                raise ValueError(f"entry {index + 1}: {error}") from None
        return value


class ApiKeyAuthenticator(Authenticator):
    """Accepts a key in the ``API_KEY_HEADER`` header (``x-api-key``) that matches a configured hash.

    Example:
        >>> # API_KEYS=ci:<hash_api_key(key)>:deploy   then   curl -H "x-api-key: <key>" ...
    """

    name = "apikeys"
    config_class = ApiKeyConfig
    scheme = "apiKeyAuth"

    def __init__(self, config: ApiKeyConfig | None = None, **deps: Any) -> None:
        super().__init__(config, **deps)
        self.config: ApiKeyConfig = config if config is not None else ApiKeyConfig.from_dict({})
        self.header = self.config.header.lower()
        self.keys = [parse_api_key_entry(entry.get_secret_value()) for entry in self.config.keys]

    async def authenticate(self, meta: Mapping[str, str]) -> Identity | None:
        presented = meta.get(self.header)
        if presented is None:
            return None
        digest = hashlib.sha256(presented.encode()).digest()
        found: ApiKey | None = None
        for key in self.keys:  # no early exit: every entry costs the same, matched or not
            if hmac.compare_digest(digest, key.digest):
                found = key
        if found is None:
            raise refused("unknown_key")
        return Identity(found.subject, roles=found.roles, claims={"auth": "api_key"})

    def security_scheme(self) -> dict[str, Any]:
        return {"type": "apiKey", "in": "header", "name": self.config.header}
