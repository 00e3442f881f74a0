"""What one account may do, so that a registered user cannot flood the chat: rooms, messages, upload bytes.

Every limit is per account (the token's subject), so nobody else's use counts against you; each is a
token bucket (``RateLimiter``): a burst, then a steady rate. A refusal is 429 ``TooManyRequests`` with
``details.retryAfter`` and a ``Retry-After`` header over HTTP. The number of rooms is also capped in
total (``CHAT_MAX_ROOMS``): rooms are listed to everyone, so their number must stay readable.
"""

from __future__ import annotations

from typing import Any

from betrue.config import Config, env
from betrue.server import Conflict, RateLimiter, Service

__all__ = ["Quotas", "QuotasConfig"]


class QuotasConfig(Config):
    """Chat quotas"""

    max_rooms: int = env("CHAT_MAX_ROOMS", 200, description="Rooms at most (joining a new one past it: 409)", ge=1)
    rooms_per_hour: int = env(
        "CHAT_ROOMS_PER_HOUR", 10, description="New rooms one account may create per hour (429 past it)", ge=1
    )
    messages_per_minute: int = env(
        "CHAT_MESSAGES_PER_MINUTE", 60, description="Messages one account may send per minute (429 past it)", ge=1
    )
    upload_bytes_per_hour: int = env(
        "CHAT_UPLOAD_BYTES_PER_HOUR",
        50 * 1024 * 1024,
        description="Image bytes one account may upload per hour (429 past it; the image is not kept)",
        ge=1,
    )


class Quotas(Service):
    """The per-account buckets (``quotas``)."""

    name = "quotas"
    config_class = QuotasConfig

    def __init__(self, config: QuotasConfig | None = None, **deps: Any) -> None:
        super().__init__(config or QuotasConfig.from_dict({}), **deps)
        self.config: QuotasConfig = self.config
        config = self.config
        self.rooms = RateLimiter(rate=config.rooms_per_hour / 3600, burst=config.rooms_per_hour)
        self.messages = RateLimiter(rate=config.messages_per_minute / 60, burst=config.messages_per_minute)
        self.upload_bytes = RateLimiter(rate=config.upload_bytes_per_hour / 3600, burst=config.upload_bytes_per_hour)

    def new_room(self, user: str, rooms_now: int) -> None:
        """Before creating a room: 409 at ``CHAT_MAX_ROOMS``, 429 past ``CHAT_ROOMS_PER_HOUR``."""
        if rooms_now >= self.config.max_rooms:
            raise Conflict(
                f"The chat has its {self.config.max_rooms} rooms already: join one of them",
                details={"reason": "max_rooms", "limit": self.config.max_rooms},
            )
        self.rooms.hit(f"user:{user}")

    def message(self, user: str) -> None:
        """Before storing a message: 429 past ``CHAT_MESSAGES_PER_MINUTE``."""
        self.messages.hit(f"user:{user}")

    def uploaded(self, user: str, size: int) -> None:
        """After an upload of ``size`` bytes: 429 past ``CHAT_UPLOAD_BYTES_PER_HOUR`` (the caller drops the file)."""
        self.upload_bytes.hit(f"user:{user}", cost=max(size, 1))
