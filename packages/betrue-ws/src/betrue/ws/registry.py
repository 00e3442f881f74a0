"""The connection registry: every open connection of this process, indexed by its attributes."""

from __future__ import annotations

from collections.abc import Hashable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from betrue.server import matches

if TYPE_CHECKING:
    from betrue.ws.connection import Connection

__all__ = ["ConnectionRegistry"]

_COLLECTIONS = (list, tuple, set, frozenset)


class ConnectionRegistry:
    """Open connections, found by id or by a ``to`` filter (``{"room": "r1", "user": "ann"}``).

    An index from (attribute, value) to connections keeps ``select`` proportional to the connections
    that can match rather than to all of them; ``betrue.server.matches`` has the final word.

    Example:
        >>> registry = ConnectionRegistry()
        >>> len(registry), list(registry.select({"room": "r1"}))
        (0, [])
    """

    def __init__(self) -> None:
        self._by_id: dict[str, Connection] = {}
        self._index: dict[tuple[str, Hashable], set[Connection]] = {}

    def __len__(self) -> int:
        return len(self._by_id)

    def __iter__(self) -> Iterator[Connection]:
        return iter(list(self._by_id.values()))

    def __contains__(self, connection: object) -> bool:
        return getattr(connection, "id", None) in self._by_id

    def get(self, connection_id: str) -> Connection | None:
        return self._by_id.get(connection_id)

    def add(self, connection: Connection) -> None:
        self._by_id[connection.id] = connection
        for key, value in connection.attributes.items():
            self.update(connection, key, None, value)

    def remove(self, connection: Connection) -> None:
        if self._by_id.pop(connection.id, None) is None:
            return
        for key, value in connection.attributes.items():
            self.update(connection, key, value, None)

    def update(self, connection: Connection, key: str, old: Any, new: Any) -> None:
        """Re-index ``connection`` after its attribute ``key`` changed from ``old`` to ``new``."""
        for value in _values(old):
            bucket = self._index.get((key, value))
            if bucket is not None:
                bucket.discard(connection)
                if not bucket:
                    del self._index[(key, value)]
        if connection.id in self._by_id:
            for value in _values(new):
                self._index.setdefault((key, value), set()).add(connection)

    def select(self, to: Mapping[str, Any] | None) -> list[Connection]:
        """The connections whose attributes match ``to`` (every connection for None or ``{}``)."""
        if not to:
            return list(self._by_id.values())
        candidates: set[Connection] | None = None
        for key, wanted in to.items():
            found = self._candidates(key, wanted)
            if candidates is None or len(found) < len(candidates):
                candidates = found
            if not candidates:
                return []
        assert candidates is not None
        return [connection for connection in candidates if matches(to, connection.attributes)]

    def _candidates(self, key: str, wanted: Any) -> set[Connection]:
        # matches() reads `key`, or `key + "s"` when the connection has no `key` (room → rooms).
        found: set[Connection] = set()
        for value in _values(wanted):
            for name in (key, key + "s"):
                bucket = self._index.get((name, value))
                if bucket:
                    found |= bucket
        return found


def _values(value: Any) -> tuple[Any, ...]:
    if value is None:
        return ()
    if isinstance(value, _COLLECTIONS):
        return tuple(value)
    return (value,)
