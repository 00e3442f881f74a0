"""Image attachments: uploaded over HTTP as a stream (``chat/upload``), then referred to by id in ``chat/send``.

The WebSocket carries no file bytes: the page POSTs the image to ``/api/chat/upload`` with its bearer
token, gets an id, and sends ``{"room", "text", "attachment": id}`` over the WebSocket; the others fetch
``chat/attachment`` over HTTP and show it. Only the uploader can attach an upload to a message.
"""

from __future__ import annotations

import asyncio
import secrets
import shutil
import tempfile
from pathlib import Path
from typing import Any

from betrue.config import Config, env
from betrue.server import (
    Context,
    Download,
    FileDownload,
    NotFound,
    PayloadTooLarge,
    Response,
    Service,
    StreamSpec,
    TooManyRequests,
    UnsupportedMediaType,
    Upload,
)
from examples.chat.commands import chat, current_user
from examples.chat.images import HEAD_SIZE, IMAGE_TYPES, sniff
from examples.chat.imagesize import dimensions
from examples.chat.quotas import Quotas

__all__ = ["ATTACHMENT", "MAX_IMAGE", "Attachments", "AttachmentsConfig"]

MAX_IMAGE = 5 * 1024 * 1024
MEASURE_HEAD = 256 * 1024
"""Bytes of an image read to find its size (a JPEG's frame header may follow large metadata)."""
ATTACHMENT_ID = {"type": "string", "pattern": "^[0-9a-f]{32}$", "description": "What chat/upload answered"}
ATTACHMENT = {
    "type": "object",
    "properties": {
        "id": ATTACHMENT_ID,
        "name": {"type": "string"},
        "type": {"type": "string", "enum": IMAGE_TYPES},
        "size": {"type": "integer"},
        "width": {"type": "integer", "description": "Pixels, once the chat/measure job has run"},
        "height": {"type": "integer", "description": "Pixels, once the chat/measure job has run"},
    },
    "required": ["id", "name", "type", "size"],
}


class AttachmentsConfig(Config):
    """Chat attachments"""

    folder: str = env("CHAT_UPLOADS", "", description="Folder of uploaded images (a temporary one, removed at stop)")
    measure_delay: float = env(
        "CHAT_MEASURE_DELAY",
        0.0,
        description="Seconds the chat/measure job waits before measuring (to watch a job in flight: demos, tests)",
        ge=0,
    )


class Attachments(Service):
    """Uploaded images on disk, with who uploaded each, known while the process lives (``attachments``).

    The app keeps them in PostgreSQL instead (``PostgresAttachments``); this one serves unit tests.
    """

    name = "attachments"
    config_class = AttachmentsConfig

    def __init__(self, config: AttachmentsConfig | None = None, **deps: Any) -> None:
        super().__init__(config or AttachmentsConfig.from_dict({}), **deps)
        self.config: AttachmentsConfig = self.config
        self.folder = Path(self.config.folder) if self.config.folder else None
        self._temporary = self.folder is None
        self._known: dict[str, dict[str, Any]] = {}

    async def start(self) -> Attachments:
        if self.folder is None:
            self.folder = Path(tempfile.mkdtemp(prefix="betrue-chat-"))
        self.folder.mkdir(parents=True, exist_ok=True)
        return self

    async def stop(self) -> None:
        if self._temporary and self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)

    async def keep(self, params: Upload, owner: str, quotas: Quotas | None = None) -> dict[str, Any]:
        """Store the upload's image; nothing is kept when it fails (too large, not an image by its bytes, cut off,
        over quota)."""
        assert self.folder is not None
        file = await params.file()
        attachment_id = secrets.token_hex(16)
        path = self.folder / attachment_id
        size = await file.save(path)
        with path.open("rb") as saved:
            media_type = sniff(saved.read(HEAD_SIZE))  # the bytes decide, not the browser's claim
        if media_type is None:
            path.unlink(missing_ok=True)
            raise UnsupportedMediaType(
                "This file is not a PNG, JPEG, GIF or WebP image",
                details={"reason": "content", "accepted": IMAGE_TYPES},
            )
        try:
            if quotas is not None:
                quotas.uploaded(owner, size)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        name = Path(file.filename or "image").name[:100]
        self._known[attachment_id] = {"id": attachment_id, "name": name, "type": media_type, "size": size}
        self._known[attachment_id]["owner"] = owner
        return await self.public(attachment_id)

    async def measure(self, attachment_id: str) -> dict[str, Any]:
        """Record the image's width and height (the ``chat/measure`` job); the attachment as now known."""
        assert self.folder is not None
        if attachment_id not in self._known:
            raise NotFound("No such attachment", details={"attachment": attachment_id})
        with (self.folder / attachment_id).open("rb") as saved:
            found = dimensions(saved.read(MEASURE_HEAD))
        if found is not None:
            self._known[attachment_id]["width"], self._known[attachment_id]["height"] = found
        return await self.public(attachment_id)

    async def public(self, attachment_id: str) -> dict[str, Any]:
        found = self._known.get(attachment_id)
        if found is None:
            raise NotFound("No such attachment", details={"attachment": attachment_id})
        return {key: value for key, value in found.items() if key != "owner"}

    async def owned(self, attachment_id: str, owner: str) -> dict[str, Any]:
        """The attachment, if ``owner`` uploaded it (others get 404: ids are not shared by guessing)."""
        if self._known.get(attachment_id, {}).get("owner") != owner:
            raise NotFound("No such attachment", details={"attachment": attachment_id})
        return await self.public(attachment_id)

    async def download(self, attachment_id: str) -> Download:
        found = await self.public(attachment_id)
        assert self.folder is not None
        path = self.folder / attachment_id
        return FileDownload(path, filename=found["name"], content_type=found["type"], inline=True)


@chat.command(
    "upload",
    stream=StreamSpec(
        max_size=MAX_IMAGE,
        content_types=IMAGE_TYPES,
        mode="multipart",
        fields={"type": "object", "properties": {}, "additionalProperties": False},  # the file, nothing else
    ),
    output=ATTACHMENT,
    errors=[PayloadTooLarge, UnsupportedMediaType, TooManyRequests],
)
async def upload(params: Upload, ctx: Context) -> dict[str, Any]:
    """Upload an image (multipart/form-data, field ``file``, at most 5 MiB); send its id with ``chat/send``."""
    attachments: Attachments = await ctx.service("attachments")
    kept = await attachments.keep(params, current_user(ctx), await ctx.service("quotas"))
    # measured later by a worker: the upload is answered at once, the job survives a worker's death
    await ctx.enqueue("chat/measure", {"id": kept["id"]}, key=f"measure-{kept['id']}")
    return kept


@chat.command(
    "measure",
    input={"type": "object", "properties": {"id": ATTACHMENT_ID}, "required": ["id"], "additionalProperties": False},
    output=ATTACHMENT,
    auth=["system"],
    idempotent=True,
    errors=[NotFound],
)
async def measure(params: dict[str, Any], ctx: Context) -> dict[str, Any]:
    """A job run after each upload: records the image's width and height (read from its header)."""
    attachments: Attachments = await ctx.service("attachments")
    if attachments.config.measure_delay:
        await asyncio.sleep(attachments.config.measure_delay)
    return await attachments.measure(params["id"])


@chat.command(
    "attachment",
    input={"type": "object", "properties": {"id": ATTACHMENT_ID}, "required": ["id"], "additionalProperties": False},
    stream=StreamSpec.downloads("image/*"),
    errors=[NotFound],
)
async def attachment(params: dict[str, Any], ctx: Context) -> Response:
    """The image of an attachment (inline, with its type; Range is answered)."""
    attachments: Attachments = await ctx.service("attachments")
    return Response(stream=await attachments.download(params["id"]))
