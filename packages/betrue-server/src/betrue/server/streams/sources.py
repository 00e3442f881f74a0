"""Where an upload's bytes come from: an HTTP multipart body, a raw HTTP body, or memory (tests, in-process).

A source yields the form fields, then the files as ``Part`` objects read chunk by chunk; aiohttp's own
exceptions are turned into the error catalogue here, at the edge, so nothing above sees them.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from aiohttp import BodyPartReader, MultipartReader, web

from betrue.server.errors import BetrueError, PayloadTooLarge, UnsupportedMediaType, ValidationError
from betrue.server.wire import decode_json

if TYPE_CHECKING:
    from betrue.server.streams.spec import StreamSpec

__all__ = ["CHUNK_SIZE", "MemorySource", "MultipartSource", "Part", "RawSource", "RefusedSource", "Source"]

CHUNK_SIZE = 256 * 1024
"""Most bytes one read hands to a handler."""

_MULTIPART_SLACK = 64 * 1024  # boundaries and part headers around the files and fields of a multipart body
_FILENAME = re.compile(r"""filename\*?=(?:UTF-8''|")?([^";]+)"?""", re.IGNORECASE)


class Part:
    """One part of an upload: a form field (``filename`` None) or a file; read with ``read_chunk``."""

    def __init__(self, name: str, filename: str | None, content_type: str | None, data: bytes = b"") -> None:
        self.name = name
        self.filename = filename
        self.content_type = content_type
        self._data = memoryview(data)

    @property
    def is_file(self) -> bool:
        return self.filename is not None

    async def read_chunk(self) -> bytes:
        """The next bytes of the part; ``b""`` at its end."""
        chunk, self._data = bytes(self._data[:CHUNK_SIZE]), self._data[CHUNK_SIZE:]
        return chunk


class Source:
    """The bytes behind an ``Upload``: ``open`` reads the fields up to the first file, then ``next_part``."""

    async def open(self, spec: StreamSpec) -> tuple[dict[str, Any], Part | None]:
        raise NotImplementedError

    async def next_part(self) -> Part | None:
        return None

    def at_eof(self) -> bool:
        return True


class MemorySource(Source):
    """Fields and files given in memory (``Upload.of``)."""

    def __init__(self, fields: dict[str, Any], parts: list[Part]) -> None:
        self.fields = fields
        self.parts = list(parts)

    def __repr__(self) -> str:
        return f"MemorySource({len(self.parts)} file{'s' if len(self.parts) != 1 else ''})"

    async def open(self, spec: StreamSpec) -> tuple[dict[str, Any], Part | None]:
        return dict(self.fields), await self.next_part()

    async def next_part(self) -> Part | None:
        return self.parts.pop(0) if self.parts else None

    def at_eof(self) -> bool:
        return not self.parts


class RefusedSource(Source):
    """A body the command cannot take at all (its media type); the stream stage answers ``error``."""

    def __init__(self, error: BetrueError) -> None:
        self.error = error

    async def open(self, spec: StreamSpec) -> tuple[dict[str, Any], Part | None]:
        raise self.error

    def at_eof(self) -> bool:
        return False


def _check_length(request: web.BaseRequest, limit: int) -> None:
    length = request.content_length
    if length is not None and length > limit:
        raise PayloadTooLarge(f"The upload is over the limit of {limit} bytes", details={"limit": limit})


class RawSource(Source):
    """The whole request body is one file; its name comes from ``Content-Disposition`` when sent."""

    def __init__(self, request: web.BaseRequest) -> None:
        self.request = request

    async def open(self, spec: StreamSpec) -> tuple[dict[str, Any], Part | None]:
        request = self.request
        content_type = request.headers.get("Content-Type")
        if not spec.accepts(content_type):
            raise UnsupportedMediaType(
                f"Uploads of type {content_type or 'unknown'} are not accepted",
                details={"reason": "content_type", "accepted": list(spec.content_types)},
            )
        _check_length(request, spec.max_size)
        match = _FILENAME.search(request.headers.get("Content-Disposition", ""))
        part = _RawPart(request, match[1] if match else "", content_type)
        return {}, part

    def at_eof(self) -> bool:
        return self.request.content.is_eof()


class _RawPart(Part):
    def __init__(self, request: web.BaseRequest, filename: str, content_type: str | None) -> None:
        super().__init__("", filename, content_type)
        self.content = request.content

    async def read_chunk(self) -> bytes:
        try:
            return await self.content.read(CHUNK_SIZE)
        except Exception as error:
            raise _edge_error(error) from None


class MultipartSource(Source):
    """A ``multipart/form-data`` body: form fields (read into memory, bounded) first, then file parts."""

    def __init__(self, request: web.BaseRequest) -> None:
        self.request = request
        self.reader: MultipartReader | None = None

    async def open(self, spec: StreamSpec) -> tuple[dict[str, Any], Part | None]:
        _check_length(self.request, spec.max_size + spec.max_fields_size + _MULTIPART_SLACK)
        try:
            self.reader = MultipartReader(self.request.headers, self.request.content)
        except (ValueError, AssertionError):
            raise ValidationError("Malformed multipart body", details={"reason": "malformed"}) from None
        fields: dict[str, Any] = {}
        repeated: set[str] = set()
        budget = spec.max_fields_size
        while (part := await self.next_part()) is not None:
            if part.is_file:
                return fields, part
            value = b""
            while chunk := await part.read_chunk():
                value += chunk
                if len(value) > budget:
                    raise PayloadTooLarge(
                        f"Form fields over {spec.max_fields_size} bytes", details={"limit": spec.max_fields_size}
                    )
            budget -= len(value)
            _add_field(fields, repeated, part, value)
        return fields, None

    async def next_part(self) -> Part | None:
        assert self.reader is not None
        try:
            part = await self.reader.next()
        except Exception as error:
            raise _edge_error(error) from None
        if part is None:
            return None
        if not isinstance(part, BodyPartReader):
            raise ValidationError("Nested multipart bodies are not accepted", details={"reason": "malformed"})
        return _MultipartPart(part)

    def at_eof(self) -> bool:
        return self.request.content.is_eof()


class _MultipartPart(Part):
    def __init__(self, part: BodyPartReader) -> None:
        super().__init__(part.name or "", part.filename, part.headers.get("Content-Type"))
        self.part = part

    async def read_chunk(self) -> bytes:
        try:
            chunk = await self.part.read_chunk(CHUNK_SIZE)
        except Exception as error:
            raise _edge_error(error) from None
        if not chunk and not self.part.at_eof():
            # The body ended inside this part: no boundary closed it, so the file may be cut short.
            raise ValidationError(
                "The multipart body ends before the boundary that closes its file", details={"reason": "truncated"}
            )
        return chunk


def _add_field(fields: dict[str, Any], repeated: set[str], part: Part, raw: bytes) -> None:
    if (part.content_type or "").split(";", 1)[0].strip().lower() == "application/json":
        value: Any = decode_json(raw)
    else:
        try:
            value = raw.decode()
        except UnicodeDecodeError:
            raise ValidationError(
                f"Form field {part.name!r} is not UTF-8", details={"reason": "malformed", "field": part.name}
            ) from None
    if part.name not in fields:
        fields[part.name] = value
    elif part.name in repeated:
        fields[part.name].append(value)
    else:  # a name sent twice (checkboxes, multi-selects) becomes the list of its values
        repeated.add(part.name)
        fields[part.name] = [fields[part.name], value]


def _edge_error(error: Exception) -> BetrueError:
    """aiohttp's reading failures as catalogue errors: the client went away, or sent a broken body."""
    from aiohttp import http_exceptions

    if isinstance(error, BetrueError):
        return error
    if isinstance(error, ConnectionError | EOFError) or type(error).__name__ in _DISCONNECTED:
        return ValidationError("The upload was interrupted", details={"reason": "interrupted"})
    if isinstance(error, ValueError | RuntimeError | http_exceptions.HttpProcessingError | web.RequestPayloadError):
        return ValidationError("Malformed upload body", details={"reason": "malformed"})
    raise error


# aiohttp's own classes for a client gone mid-body, named to keep their import paths out of the way
_DISCONNECTED = frozenset({"ClientConnectionResetError", "ClientPayloadError"})
