"""``DbConnection``: one pooled connection per call, for handlers that want several statements on one."""

from __future__ import annotations

from typing import Any

from betrue.postgres.database import Database
from betrue.postgres.types import Connection
from betrue.server import Service

__all__ = ["DbConnection"]


class DbConnection(Service):
    """A request-scoped service (``db_connection``): acquired when a handler first asks, released when the call ends.

    Example:
        >>> from betrue.server import Application
        >>> app = Application("shop", env_file=None)
        >>> _ = app.add_service(Database)
        >>> _ = app.add_service(DbConnection)
        >>> # in a handler: conn = await ctx.service("db_connection"); await conn.fetch("SELECT 1")
    """

    name = "db_connection"
    deps = ("db",)
    scope = "request"

    def __init__(self, db: Database, **deps: Any) -> None:
        super().__init__(None, db=db, **deps)
        self.db = db
        self._connection: Connection | None = None

    async def start(self) -> Connection:
        self._connection = await self.db.acquire()
        return self._connection

    async def stop(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            await self.db.release(connection)
