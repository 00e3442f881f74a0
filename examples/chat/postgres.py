"""The chat's data in PostgreSQL: accounts, rooms, memberships, messages and image attachments.

The tables come from the migrations in examples/chat/migrations (namespace ``chat``), applied at start
(``DB_MIGRATE=auto``). Images are kept in the database too (``bytea``, at most 5 MiB each), so a backup of
the database is a backup of the chat and several instances serve the same files.
"""

from __future__ import annotations

import datetime
import secrets
from pathlib import Path
from typing import Any

from betrue.postgres import Database, Record
from betrue.server import BytesDownload, Download, NotFound, UnsupportedMediaType, Upload
from examples.chat.accounts import Accounts, AccountsConfig
from examples.chat.attachments import MEASURE_HEAD, Attachments, AttachmentsConfig
from examples.chat.images import HEAD_SIZE, IMAGE_TYPES, sniff
from examples.chat.imagesize import dimensions
from examples.chat.quotas import Quotas
from examples.chat.store import ChatConfig, ChatStore, Message

__all__ = ["MIGRATIONS", "PostgresAccounts", "PostgresAttachments", "PostgresChatStore"]

MIGRATIONS = Path(__file__).with_name("migrations")


def _at(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).isoformat(timespec="seconds")


class PostgresChatStore(ChatStore):
    """Rooms, memberships and every message, in PostgreSQL (``chat_store``)."""

    deps = ("db",)

    def __init__(self, config: ChatConfig, db: Database) -> None:
        super().__init__(config, db=db)
        self.config: ChatConfig = config
        self.db = db

    async def start(self) -> PostgresChatStore:
        for room in self.config.rooms:
            await self.add_room(room)
        return self

    async def rooms(self) -> list[str]:
        return [row["name"] for row in await self.db.fetch("SELECT name FROM chat_rooms ORDER BY position")]

    async def add_room(self, room: str) -> bool:
        made = await self.db.fetchval(
            "INSERT INTO chat_rooms (name) VALUES ($1) ON CONFLICT DO NOTHING RETURNING true", room
        )
        return made is True

    async def add_member(self, room: str, user: str) -> None:
        await self.add_room(room)
        await self.db.execute(
            "INSERT INTO chat_memberships (room, user_name) VALUES ($1, $2) ON CONFLICT DO NOTHING", room, user
        )

    async def members(self, room: str) -> list[str]:
        rows = await self.db.fetch("SELECT user_name FROM chat_memberships WHERE room = $1 ORDER BY user_name", room)
        return [row["user_name"] for row in rows]

    async def add_message(
        self, room: str, user: str, text: str, *, attachment: Message | None = None, key: str | None = None
    ) -> Message:
        await self.add_room(room)
        row = await self.db.fetchrow(
            "INSERT INTO chat_messages (room, user_name, text, attachment_id, send_key) VALUES ($1, $2, $3, $4, $5)"
            " ON CONFLICT (user_name, send_key) WHERE send_key IS NOT NULL DO NOTHING RETURNING id, at",
            room,
            user,
            text,
            attachment["id"] if attachment is not None else None,
            key,
        )
        if row is None:  # sent before under this key: the message stored then
            row = await self.db.fetchrow(
                "SELECT id, room, text, at FROM chat_messages WHERE user_name = $1 AND send_key = $2", user, key
            )
            assert row is not None
            room, text = row["room"], row["text"]
        message: Message = {"id": row["id"], "room": room, "user": user, "text": text, "at": _at(row["at"])}
        if attachment is not None:
            message["attachment"] = attachment
        return message

    async def history(self, room: str, *, limit: int = 50, before: int | None = None) -> list[Message]:
        if limit <= 0:
            return []
        rows = await self.db.fetch(
            "SELECT m.id, m.user_name, m.text, m.at, a.id AS a_id, a.name AS a_name, a.type AS a_type, a.size AS a_size"
            " FROM chat_messages m LEFT JOIN chat_attachments a ON a.id = m.attachment_id"
            " WHERE m.room = $1 AND ($2::bigint IS NULL OR m.id < $2) ORDER BY m.id DESC LIMIT $3",
            room,
            before,
            limit,
        )
        return [self._message(room, row) for row in reversed(rows)]

    @staticmethod
    def _message(room: str, row: Record) -> Message:
        message: Message = {"id": row["id"], "room": room, "user": row["user_name"], "text": row["text"]}
        message["at"] = _at(row["at"])
        if row["a_id"] is not None:
            message["attachment"] = {
                "id": row["a_id"],
                "name": row["a_name"],
                "type": row["a_type"],
                "size": row["a_size"],
            }
        return message


class PostgresAccounts(Accounts):
    """Accounts and their argon2id hashes in PostgreSQL (``accounts``)."""

    deps = ("db",)

    def __init__(self, config: AccountsConfig | None = None, *, db: Database) -> None:
        super().__init__(config, db=db)
        self.db = db

    async def find(self, folded: str) -> tuple[str, str] | None:
        row = await self.db.fetchrow("SELECT name, password_hash FROM chat_accounts WHERE folded = $1", folded)
        return (row["name"], row["password_hash"]) if row is not None else None

    async def insert(self, name: str, folded: str, hashed: str) -> bool:
        made = await self.db.fetchval(
            "INSERT INTO chat_accounts (name, folded, password_hash) VALUES ($1, $2, $3)"
            " ON CONFLICT DO NOTHING RETURNING true",
            name,
            folded,
            hashed,
        )
        return made is True


class PostgresAttachments(Attachments):
    """Uploaded images and who uploaded each, in PostgreSQL (``attachments``)."""

    deps = ("db",)

    def __init__(self, config: AttachmentsConfig | None = None, *, db: Database) -> None:
        super().__init__(config, db=db)
        self.db = db

    async def start(self) -> PostgresAttachments:
        return self  # no folder: the bytes live in the database

    async def stop(self) -> None:
        return None

    async def keep(self, params: Upload, owner: str, quotas: Quotas | None = None) -> dict[str, Any]:
        file = await params.file()
        data = await file.read()  # at most the command's max_size (5 MiB)
        media_type = sniff(data[:HEAD_SIZE])  # the bytes decide, not the browser's claim
        if media_type is None:
            raise UnsupportedMediaType(
                "This file is not a PNG, JPEG, GIF or WebP image",
                details={"reason": "content", "accepted": IMAGE_TYPES},
            )
        if quotas is not None:
            quotas.uploaded(owner, len(data))  # over quota: raises before anything is stored
        attachment_id = secrets.token_hex(16)
        name = Path(file.filename or "image").name[:100]
        await self.db.execute(
            "INSERT INTO chat_attachments (id, owner, name, type, size, data) VALUES ($1, $2, $3, $4, $5, $6)",
            attachment_id,
            owner,
            name,
            media_type,
            len(data),
            data,
        )
        return {"id": attachment_id, "name": name, "type": media_type, "size": len(data)}

    async def measure(self, attachment_id: str) -> dict[str, Any]:
        data = await self.db.fetchval(
            "SELECT substring(data FROM 1 FOR $2) FROM chat_attachments WHERE id = $1", attachment_id, MEASURE_HEAD
        )
        if data is None:
            raise NotFound("No such attachment", details={"attachment": attachment_id})
        found = dimensions(data)
        if found is not None:
            await self.db.execute(
                "UPDATE chat_attachments SET width = $2, height = $3 WHERE id = $1", attachment_id, *found
            )
        return await self.public(attachment_id)

    async def public(self, attachment_id: str) -> dict[str, Any]:
        return await self._found(attachment_id, owner=None)

    async def owned(self, attachment_id: str, owner: str) -> dict[str, Any]:
        return await self._found(attachment_id, owner=owner)

    async def download(self, attachment_id: str) -> Download:
        row = await self.db.fetchrow("SELECT name, type, data FROM chat_attachments WHERE id = $1", attachment_id)
        if row is None:
            raise NotFound("No such attachment", details={"attachment": attachment_id})
        return BytesDownload(row["data"], filename=row["name"], content_type=row["type"], inline=True)

    async def _found(self, attachment_id: str, *, owner: str | None) -> dict[str, Any]:
        row = await self.db.fetchrow(
            "SELECT id, name, type, size, width, height FROM chat_attachments"
            " WHERE id = $1 AND ($2::text IS NULL OR owner = $2)",
            attachment_id,
            owner,
        )
        if row is None:  # someone else's upload is as unknown as a missing one: ids are not shared by guessing
            raise NotFound("No such attachment", details={"attachment": attachment_id})
        return {key: value for key, value in dict(row).items() if value is not None}
