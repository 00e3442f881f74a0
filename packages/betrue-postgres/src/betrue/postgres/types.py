"""The shared vocabulary: what a row, a pooled connection and a migration target are."""

from __future__ import annotations

from typing import TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy

__all__ = ["Connection", "Record", "Target"]

Record: TypeAlias = asyncpg.Record
"""A row: ``row["name"]``, ``row[0]``, ``dict(row)``."""

Connection: TypeAlias = "PoolConnectionProxy[asyncpg.Record]"
"""A connection of the pool, with asyncpg's whole API (``fetch``, ``copy_records_to_table``, ``transaction``…)."""

Target: TypeAlias = "asyncpg.Pool[asyncpg.Record] | asyncpg.Connection[asyncpg.Record] | Connection"
"""Where migrations run: a pool, a connection of one, or a connection of its own."""
