"""Where the chat keeps rooms, memberships and messages: the ``chat_store`` service.

Commands only use the ``ChatStore`` methods. The app keeps them in PostgreSQL (``PostgresChatStore`` in
examples/chat/postgres.py); the memory store here serves unit tests (``create_app(store="memory")``).
"""

from __future__ import annotations

import datetime
import itertools
from abc import ABC, abstractmethod
from collections import deque
from typing import Any

from betrue.config import Config, env
from betrue.server import Service

__all__ = ["ChatConfig", "ChatStore", "MemoryChatStore", "Message"]

Message = dict[str, Any]
"""``{"id": 7, "room": "general", "user": "ann", "text": "hi", "at": "2025-01-01T12:00:00+00:00"}``"""


class ChatConfig(Config):
    """Chat rooms and history"""

    rooms: list[str] = env("CHAT_ROOMS", ["general", "random"], description="Rooms that exist from the start")
    history: int = env("CHAT_HISTORY", 500, description="Messages kept per room (older ones are forgotten)", ge=1)


class ChatStore(Service, ABC):
    """Rooms and their messages, oldest first. The interface every chat store implements."""

    name = "chat_store"
    config_class = ChatConfig

    @abstractmethod
    async def rooms(self) -> list[str]:
        """Every room's name, in creation order."""

    @abstractmethod
    async def add_room(self, room: str) -> bool:
        """Create ``room``; False when it existed already."""

    @abstractmethod
    async def add_member(self, room: str, user: str) -> None:
        """Remember that ``user`` joined ``room`` (kept after they leave: who ever took part)."""

    @abstractmethod
    async def members(self, room: str) -> list[str]:
        """Everyone who ever joined ``room``, sorted."""

    @abstractmethod
    async def add_message(
        self, room: str, user: str, text: str, *, attachment: Message | None = None, key: str | None = None
    ) -> Message:
        """Store a message (with an image ``attachment`` when given) and return it with its id and time.

        With a ``key`` (the sender's idempotency key), a message ``user`` already stored under that key is
        returned instead of storing another.
        """

    @abstractmethod
    async def history(self, room: str, *, limit: int = 50, before: int | None = None) -> list[Message]:
        """The last ``limit`` messages of ``room`` (older than message ``before`` when given), oldest first."""


class MemoryChatStore(ChatStore):
    """Keeps the last ``CHAT_HISTORY`` messages of each room in memory; gone when the process stops.

    Example:
        >>> store = MemoryChatStore(ChatConfig.from_dict({"rooms": ["general"]}))
        >>> # await store.add_message("general", "ann", "hi") -> {"id": 1, "room": "general", ...}
    """

    def __init__(self, config: ChatConfig) -> None:
        super().__init__(config)
        self.config: ChatConfig = config
        self._rooms: dict[str, deque[Message]] = {room: deque(maxlen=config.history) for room in config.rooms}
        self._ids = itertools.count(1)
        self._members: dict[str, set[str]] = {}
        self._keys: dict[tuple[str, str], Message] = {}

    async def rooms(self) -> list[str]:
        return list(self._rooms)

    async def add_room(self, room: str) -> bool:
        if room in self._rooms:
            return False
        self._rooms[room] = deque(maxlen=self.config.history)
        return True

    async def add_member(self, room: str, user: str) -> None:
        await self.add_room(room)
        self._members.setdefault(room, set()).add(user)

    async def members(self, room: str) -> list[str]:
        return sorted(self._members.get(room, ()))

    async def add_message(
        self, room: str, user: str, text: str, *, attachment: Message | None = None, key: str | None = None
    ) -> Message:
        if key is not None and (user, key) in self._keys:
            return self._keys[(user, key)]
        await self.add_room(room)
        at = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
        message: Message = {"id": next(self._ids), "room": room, "user": user, "text": text, "at": at}
        if attachment is not None:
            message["attachment"] = attachment
        self._rooms[room].append(message)
        if key is not None:
            self._keys[(user, key)] = message
        return message

    async def history(self, room: str, *, limit: int = 50, before: int | None = None) -> list[Message]:
        messages = self._rooms.get(room, deque())
        kept = [m for m in messages if before is None or m["id"] < before]
        return kept[-limit:] if limit > 0 else []
