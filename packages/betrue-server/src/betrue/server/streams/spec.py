"""What a command says about streams: ``StreamSpec`` (uploads in, downloads out) and its pipeline stage."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from betrue.server.commands import Command
from betrue.server.context import Context
from betrue.server.errors import UnsupportedMediaType
from betrue.server.response import Response
from betrue.server.types import CallNext, Middleware, Schema
from betrue.server.validation import Validator, compile_schema

if TYPE_CHECKING:
    from betrue.server.application import Application

__all__ = ["DEFAULT_MAX_SIZE", "StreamSpec", "describe_stream", "media_type_allowed", "stream_stage"]

DEFAULT_MAX_SIZE = 10 * 1024 * 1024
"""Largest upload (sum of its files' bytes) when a ``StreamSpec`` sets no ``max_size``: 10 MiB."""

UploadMode = Literal["multipart", "raw", "any"]


@dataclass(frozen=True, slots=True)
class StreamSpec:
    """A command's stream contract: it takes an upload (``upload=True``) and/or answers a download.

    Over HTTP an upload is ``multipart/form-data`` (form fields first, then files) or a raw body
    (``mode``); the handler gets an ``Upload`` as params: the validated ``fields`` by key, the files
    through ``params.files()`` as they arrive. ``max_size`` bounds the files' bytes together (413
    past it), ``content_types`` lists the accepted media types of the files (``image/*``; 415 for
    others), ``fields`` is the schema of the form fields (strings, or JSON for parts sent as
    ``application/json``). ``download`` names the media type the command answers with a
    ``Response(stream=...)`` (documentation only).

    Example:
        >>> from betrue.server import Group
        >>> files = Group("files")
        >>> @files.command("put", stream=StreamSpec(max_size=5_000_000, content_types=["image/*"]))
        ... async def put(params, ctx):
        ...     size = 0
        ...     async for file in params.files():
        ...         async for chunk in file:
        ...             size += len(chunk)
        ...     return {"size": size}
    """

    max_size: int = DEFAULT_MAX_SIZE
    content_types: Sequence[str] = ("*/*",)
    fields: Schema = None
    mode: UploadMode = "any"
    max_files: int = 1
    max_fields_size: int = 64 * 1024
    """Bytes of all form fields together (they are read into memory, unlike files)."""
    idle_timeout: float = 30.0
    """Seconds a read may wait for the next bytes of the body before the upload fails with 408."""
    upload: bool = True
    download: str | None = None
    _validator: list[Validator] = field(default_factory=list, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.max_size < 0 or self.max_files < 1 or self.max_fields_size < 0 or self.idle_timeout <= 0:
            raise ValueError("StreamSpec: max_size, max_fields_size >= 0, max_files >= 1 and idle_timeout > 0")
        if isinstance(self.content_types, str):
            object.__setattr__(self, "content_types", (self.content_types,))
        object.__setattr__(self, "content_types", tuple(kind.strip().lower() for kind in self.content_types))

    def validator(self, where: str) -> Validator:
        """The compiled fields validator (compiled once, on first use: at start)."""
        if not self._validator:
            self._validator.append(compile_schema(self.fields, where=f"{where} stream fields"))
        return self._validator[0]

    def accepts(self, content_type: str | None) -> bool:
        """Whether a file of ``content_type`` is allowed (the media type, parameters ignored)."""
        return media_type_allowed(content_type, self.content_types)

    @classmethod
    def downloads(cls, media_type: str = "application/octet-stream") -> StreamSpec:
        """A command that takes JSON params and answers a download of ``media_type``.

        Example:
            >>> StreamSpec.downloads("image/png").upload
            False
        """
        return cls(upload=False, download=media_type)


def media_type_allowed(content_type: str | None, allowed: Sequence[str]) -> bool:
    """``content_type`` (with or without parameters) matches one of ``allowed`` (``type/*``, ``*/*``).

    Example:
        >>> media_type_allowed("image/png; q=1", ["image/*"]), media_type_allowed("text/html", ["image/*"])
        (True, False)
    """
    media = (content_type or "application/octet-stream").split(";", 1)[0].strip().lower()
    main = media.split("/", 1)[0]
    return any(kind in ("*/*", "*", media) or kind == f"{main}/*" for kind in allowed)


def stream_stage(app: Application, command: Command) -> Middleware | None:
    """The stage of an upload command: reads and validates the form fields, then runs the handler.

    A call that brings JSON params instead of a stream (over WebSocket, NATS, the client) is
    answered 415: uploads go over HTTP, and the other transports refer to what was uploaded by id.
    """
    spec = command.stream
    if not isinstance(spec, StreamSpec) or not spec.upload:
        return None
    if command.input is not None:
        raise ValueError(
            f"command {command.code!r} takes a stream: declare its form fields as StreamSpec(fields=...), not input="
        )
    from betrue.server.streams.uploads import Upload

    validator = spec.validator(command.code)
    refusal = UnsupportedMediaType(
        f"{command.code} takes an upload: POST it over HTTP as multipart/form-data or a raw body",
        details={"reason": "stream_required"},
    )

    async def accept_upload(ctx: Context, params: Any, call_next: CallNext) -> Response:
        if not isinstance(params, Upload):
            return Response.from_error(refusal)
        await params.open(spec, validator)
        return await call_next(ctx, params)

    return accept_upload


def describe_stream(command: Command) -> dict[str, Any]:
    """The OpenAPI pieces of a stream command: ``requestBody`` for an upload, a binary ``200`` for a download.

    Example:
        >>> from betrue.server import Group
        >>> g = Group("files")
        >>> @g.command("put", stream=StreamSpec(content_types=["image/png"], fields={"type": "object"}))
        ... async def put(params, ctx): ...
        >>> sorted(describe_stream(g.commands[0])["requestBody"]["content"])
        ['image/png', 'multipart/form-data']
    """
    spec = command.stream
    if not isinstance(spec, StreamSpec):
        return {}
    described: dict[str, Any] = {}
    if spec.upload:
        fields: dict[str, Any] = {"type": "object"}
        if spec.fields is not None:
            fields = dict(spec.validator(command.code).json_schema)
        properties = {**fields.get("properties", {}), "file": {"type": "string", "format": "binary"}}
        if spec.max_files > 1:
            properties["file"] = {
                "type": "array",
                "items": properties["file"],
                "minItems": 1,
                "maxItems": spec.max_files,
            }
        required = [*fields.get("required", []), "file"]  # an upload without its file is refused (400)
        form = {**fields, "type": "object", "properties": properties, "required": required}
        content: dict[str, Any] = {}
        if spec.mode != "raw":
            encoding = {"file": {"contentType": ", ".join(spec.content_types)}}
            content["multipart/form-data"] = {"schema": form, "encoding": encoding}
        if spec.mode != "multipart":
            for kind in spec.content_types:
                content[kind] = {"schema": {"type": "string", "format": "binary"}}
        described["requestBody"] = {
            "required": True,
            "description": f"Form fields first, then the file(s); at most {spec.max_size} bytes of files",
            "content": content,
        }
    if spec.download is not None:
        described["responses"] = {
            "200": {
                "description": "The download (Content-Disposition names the file; Range is answered with 206)",
                "content": {spec.download: {"schema": {"type": "string", "format": "binary"}}},
            }
        }
    return described
