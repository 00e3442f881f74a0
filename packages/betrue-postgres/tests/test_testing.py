"""``TestDatabases``: a migrated template, fresh clones that do not see each other, everything dropped."""

from __future__ import annotations

from pathlib import Path

import asyncpg

from betrue.postgres import Migrations
from betrue.postgres.testing import TestDatabases, database_name, with_database


async def test_clones_are_migrated_independent_and_dropped(tmp_path: Path, server_dsn: str) -> None:
    (tmp_path / "0001_notes.sql").write_text("CREATE TABLE notes (id serial PRIMARY KEY, text text NOT NULL);")
    databases = TestDatabases(server_dsn, migrations=[Migrations(tmp_path, namespace="notes")])
    await databases.setup()
    try:
        async with databases.database() as first, databases.database() as second:
            assert first != second
            one = await asyncpg.connect(first)
            try:
                await one.execute("INSERT INTO notes (text) VALUES ('only in the first')")
            finally:
                await one.close()
            two = await asyncpg.connect(second)
            try:
                assert await two.fetchval("SELECT count(*) FROM notes") == 0  # migrated, and clean
            finally:
                await two.close()
        kept = await databases.create()
    finally:
        await databases.teardown()
    admin = await asyncpg.connect(server_dsn)
    try:
        names = {row["datname"] for row in await admin.fetch("SELECT datname FROM pg_database")}
    finally:
        await admin.close()
    made = {first, second, kept, with_database(server_dsn, databases.template)}
    assert not {database_name(dsn) for dsn in made} & names
