"""Who is online where: the ``presence`` service.

``Presence`` keeps it in this process (the monolith: every connection is here). ``PostgresPresence``
keeps it in PostgreSQL (the cluster: connections live on the gateways, commands run on any chat
instance): each row is one connection of one user in one room, with the gateway that holds it.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from loguru import logger

from betrue.config import Config, env
from betrue.postgres import Database
from betrue.server import Event, EventBus, Service

__all__ = ["PostgresPresence", "Presence", "PresenceConfig"]


class Presence(Service):
    """Rooms → connections → user. A user with two tabs in a room is online until both leave.

    Example:
        >>> import asyncio
        >>> presence = Presence()
        >>> asyncio.run(presence.join("general", "ann", "c1")), asyncio.run(presence.join("general", "ann", "c2"))
        (True, False)
        >>> asyncio.run(presence.leave("general", "c1")), asyncio.run(presence.users("general"))
        (None, ['ann'])
        >>> asyncio.run(presence.drop("c2"))
        [('general', 'ann')]
    """

    name = "presence"

    def __init__(self, config: Any = None, **deps: Any) -> None:
        super().__init__()
        self._rooms: dict[str, dict[str, str]] = {}

    async def join(self, room: str, user: str, connection: str, gateway: str = "") -> bool:
        """Record ``connection`` of ``user`` in ``room``; True when the user was not online there before."""
        members = self._rooms.setdefault(room, {})
        was_online = user in members.values()
        members[connection] = user
        return not was_online

    async def leave(self, room: str, connection: str) -> str | None:
        """Forget ``connection`` in ``room``; the user when that was their last connection there."""
        members = self._rooms.get(room, {})
        user = members.pop(connection, None)
        if not members:
            self._rooms.pop(room, None)
        if user is None or user in members.values():
            return None
        return user

    async def drop(self, connection: str) -> list[tuple[str, str]]:
        """Forget ``connection`` everywhere; the (room, user) pairs where its user went offline."""
        gone = []
        for room in [room for room, members in self._rooms.items() if connection in members]:
            user = await self.leave(room, connection)
            if user is not None:
                gone.append((room, user))
        return gone

    async def present(self, room: str, user: str) -> bool:
        """Whether one of ``user``'s connections is in ``room``."""
        return user in self._rooms.get(room, {}).values()

    async def has(self, room: str, connection: str) -> bool:
        """Whether ``connection`` joined ``room``."""
        return connection in self._rooms.get(room, {})

    async def users(self, room: str) -> list[str]:
        return sorted(set(self._rooms.get(room, {}).values()))

    async def counts(self) -> dict[str, int]:
        return {room: len(set(members.values())) for room, members in self._rooms.items()}


class PresenceConfig(Config):
    """Presence across gateways"""

    gateway_timeout: float = env(
        "CHAT_GATEWAY_TIMEOUT",
        15.0,
        description="Seconds without a gateway's heartbeat after which its users are offline",
        ge=1,
    )
    sweep_interval: float = env(
        "CHAT_PRESENCE_SWEEP", 5.0, description="Seconds between looks for gateways gone silent", ge=0.1
    )


class PostgresPresence(Presence):
    """Presence in PostgreSQL (``chat_presence``), shared by every chat instance of a cluster.

    Gateways write a heartbeat in ``chat_gateways`` (see ``examples.chat.cluster``); every
    ``CHAT_PRESENCE_SWEEP`` seconds this service removes the connections of gateways silent for
    ``CHAT_GATEWAY_TIMEOUT`` seconds and emits ``chat.presence`` for the users who went offline.
    A user is offline at most timeout + sweep seconds (20 s by default) after their gateway died.
    """

    deps = ("db", "events")
    config_class = PresenceConfig

    def __init__(self, config: PresenceConfig | None = None, *, db: Database, events: EventBus) -> None:
        super().__init__()
        self.config: PresenceConfig = config if config is not None else PresenceConfig.from_dict({})
        self.db = db
        self.events = events
        self._sweeper: asyncio.Task[None] | None = None

    async def start(self) -> PostgresPresence:
        self._sweeper = asyncio.get_running_loop().create_task(self._sweep_forever(), name="chat-presence-sweep")
        return self

    async def stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper

    async def join(self, room: str, user: str, connection: str, gateway: str = "") -> bool:
        async with self.db.transaction() as tx:
            await tx.execute("SELECT pg_advisory_xact_lock(hashtext($1))", room)  # one change of a room at a time
            was_online = await tx.fetchval(
                "SELECT EXISTS (SELECT 1 FROM chat_presence WHERE room = $1 AND user_name = $2)", room, user
            )
            await tx.execute(
                "INSERT INTO chat_presence (connection, room, user_name, gateway) VALUES ($1, $2, $3, $4)"
                " ON CONFLICT (connection, room) DO NOTHING",
                connection,
                room,
                user,
                gateway,
            )
        return not was_online

    async def leave(self, room: str, connection: str) -> str | None:
        async with self.db.transaction() as tx:
            await tx.execute("SELECT pg_advisory_xact_lock(hashtext($1))", room)
            user = await tx.fetchval(
                "DELETE FROM chat_presence WHERE connection = $1 AND room = $2 RETURNING user_name", connection, room
            )
            if user is None:
                return None
            still = await tx.fetchval(
                "SELECT EXISTS (SELECT 1 FROM chat_presence WHERE room = $1 AND user_name = $2)", room, user
            )
        return None if still else str(user)

    async def drop(self, connection: str) -> list[tuple[str, str]]:
        rooms = await self.db.fetch("SELECT room FROM chat_presence WHERE connection = $1", connection)
        gone = []
        for row in rooms:
            user = await self.leave(row["room"], connection)
            if user is not None:
                gone.append((row["room"], user))
        return gone

    async def present(self, room: str, user: str) -> bool:
        found = await self.db.fetchval(
            "SELECT EXISTS (SELECT 1 FROM chat_presence WHERE room = $1 AND user_name = $2)", room, user
        )
        return found is True

    async def has(self, room: str, connection: str) -> bool:
        found = await self.db.fetchval(
            "SELECT EXISTS (SELECT 1 FROM chat_presence WHERE room = $1 AND connection = $2)", room, connection
        )
        return found is True

    async def users(self, room: str) -> list[str]:
        rows = await self.db.fetch(
            "SELECT DISTINCT user_name FROM chat_presence WHERE room = $1 ORDER BY user_name", room
        )
        return [row["user_name"] for row in rows]

    async def counts(self) -> dict[str, int]:
        rows = await self.db.fetch("SELECT room, count(DISTINCT user_name) AS n FROM chat_presence GROUP BY room")
        return {row["room"]: int(row["n"]) for row in rows}

    async def sweep(self) -> list[tuple[str, str]]:
        """Drop the connections of silent gateways; emit ``chat.presence`` where users went offline."""
        rows = await self.db.fetch(
            "SELECT DISTINCT p.connection FROM chat_presence p JOIN chat_gateways g ON g.id = p.gateway"
            " WHERE g.seen_at < now() - make_interval(secs => $1)",
            self.config.gateway_timeout,
        )
        await self.db.execute(  # gateways long gone, with nobody left on them: forgotten
            "DELETE FROM chat_gateways g WHERE seen_at < now() - interval '1 hour'"
            " AND NOT EXISTS (SELECT 1 FROM chat_presence p WHERE p.gateway = g.id)"
        )
        gone: list[tuple[str, str]] = []
        for row in rows:
            for room, user in await self.drop(row["connection"]):
                gone.append((room, user))
                data = {"room": room, "user": user, "online": False, "users": await self.users(room)}
                await self.events.publish(Event("chat.presence", data, {"room": room}))
        return gone

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(self.config.sweep_interval)
            try:
                await self.sweep()
            except Exception:  # a database hiccup: the next sweep tries again
                logger.opt(exception=True).warning("presence sweep failed")
