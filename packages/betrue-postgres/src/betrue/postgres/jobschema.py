"""The jobs tables: applied from ``migrations/jobs_*.sql`` once, under an advisory lock, with checksums.

Several processes starting at once take ``pg_advisory_xact_lock`` in turn: one applies what is missing,
the others find it applied. An applied file whose text changed since is refused (its sha256 differs).
"""

from __future__ import annotations

import hashlib
import re
from importlib.resources import files
from typing import Any

__all__ = ["SCHEMA_NAME", "migrate_jobs"]

SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def _migrations() -> list[tuple[int, str, str]]:
    """(version, file name, text) of every jobs migration, in order."""
    folder = files("betrue.postgres").joinpath("migrations")
    found = []
    for entry in folder.iterdir():
        match = re.fullmatch(r"jobs_(\d{4})\.sql", entry.name)
        if match:
            found.append((int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    return sorted(found)


async def migrate_jobs(connection: Any, schema: str) -> list[str]:
    """Create or update the jobs tables in ``schema``; returns the files applied now.

    Raises ``RuntimeError`` when an applied migration was edited afterwards.
    """
    if not SCHEMA_NAME.match(schema):
        raise ValueError(f"schema {schema!r}: lower-case letters, digits and _ only")
    applied_now: list[str] = []
    async with connection.transaction():
        await connection.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"betrue-jobs:{schema}")
        await connection.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        await connection.execute(
            f"CREATE TABLE IF NOT EXISTS {schema}.betrue_jobs_migrations "
            "(version integer PRIMARY KEY, name text NOT NULL, sha256 text NOT NULL, "
            "applied_at timestamptz NOT NULL DEFAULT now())"
        )
        rows = await connection.fetch(f"SELECT version, name, sha256 FROM {schema}.betrue_jobs_migrations")
        done = {row["version"]: row for row in rows}
        for version, name, text in _migrations():
            digest = hashlib.sha256(text.encode()).hexdigest()
            if version in done:
                if done[version]["sha256"] != digest:
                    raise RuntimeError(f"{name} was applied to {schema} and has been edited since (sha256 differs)")
                continue
            await connection.execute(text.format(schema=schema))
            await connection.execute(
                f"INSERT INTO {schema}.betrue_jobs_migrations (version, name, sha256) VALUES ($1, $2, $3)",
                version,
                name,
                digest,
            )
            applied_now.append(name)
    return applied_now
