"""Who is online where: the ``presence`` service, per process (it follows this process's WebSocket connections)."""

from __future__ import annotations

from betrue.server import Service

__all__ = ["Presence"]


class Presence(Service):
    """Rooms → connections → user. A user with two tabs in a room is online until both leave.

    Example:
        >>> presence = Presence()
        >>> presence.join("general", "ann", "c1"), presence.join("general", "ann", "c2")
        (True, False)
        >>> presence.leave("general", "c1"), presence.users("general")
        (None, ['ann'])
        >>> presence.drop("c2")
        [('general', 'ann')]
    """

    name = "presence"

    def __init__(self) -> None:
        super().__init__()
        self._rooms: dict[str, dict[str, str]] = {}

    def join(self, room: str, user: str, connection: str) -> bool:
        """Record ``connection`` of ``user`` in ``room``; True when the user was not online there before."""
        members = self._rooms.setdefault(room, {})
        was_online = user in members.values()
        members[connection] = user
        return not was_online

    def leave(self, room: str, connection: str) -> str | None:
        """Forget ``connection`` in ``room``; the user when that was their last connection there."""
        members = self._rooms.get(room, {})
        user = members.pop(connection, None)
        if not members:
            self._rooms.pop(room, None)
        if user is None or user in members.values():
            return None
        return user

    def drop(self, connection: str) -> list[tuple[str, str]]:
        """Forget ``connection`` everywhere; the (room, user) pairs where its user went offline."""
        gone = []
        for room in [room for room, members in self._rooms.items() if connection in members]:
            user = self.leave(room, connection)
            if user is not None:
                gone.append((room, user))
        return gone

    def present(self, room: str, user: str) -> bool:
        """Whether one of ``user``'s connections is in ``room``."""
        return user in self._rooms.get(room, {}).values()

    def users(self, room: str) -> list[str]:
        return sorted(set(self._rooms.get(room, {}).values()))

    def counts(self) -> dict[str, int]:
        return {room: len(set(members.values())) for room, members in self._rooms.items()}
