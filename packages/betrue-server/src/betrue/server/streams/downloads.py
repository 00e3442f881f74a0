"""What a command answers instead of JSON: a file, bytes or an async stream of chunks (``Response(stream=...)``).

A transport that carries bytes (HTTP) sends it chunk by chunk with ``Content-Disposition`` and, for files
and bytes, answers ``Range`` requests with 206; the others answer 415 and point to HTTP.
"""

from __future__ import annotations

import asyncio
import mimetypes
import os
import re
from collections.abc import AsyncGenerator, AsyncIterable
from pathlib import Path
from typing import ClassVar
from urllib.parse import quote

from betrue.server.errors import BetrueError
from betrue.server.streams.sources import CHUNK_SIZE

__all__ = [
    "BytesDownload",
    "Download",
    "FileDownload",
    "RangeNotSatisfiable",
    "StreamDownload",
    "content_disposition",
    "parse_range",
]

_RANGE = re.compile(r"bytes=(\d*)-(\d*)")
_UNSAFE_NAME = re.compile(r'[\x00-\x1f\x7f"\\/;]')


class RangeNotSatisfiable(BetrueError):
    """The ``Range`` asked for starts past the end of the download (HTTP 416)."""

    code = 416
    status = "RangeNotSatisfiable"
    default_message = "Range not satisfiable"


class Download:
    """Base of the downloads a handler returns as ``Response(stream=...)``.

    ``filename`` goes into ``Content-Disposition`` (``attachment``, or ``inline`` to let a browser show
    it), ``content_type`` defaults to a guess from the filename, ``size`` is known for files and bytes.
    """

    seekable: ClassVar[bool] = False
    """Whether ``Range`` requests are answered (206) rather than with the whole body."""

    def __init__(
        self,
        *,
        filename: str | None = None,
        content_type: str | None = None,
        inline: bool = False,
        size: int | None = None,
    ) -> None:
        self.filename = filename
        guessed = mimetypes.guess_type(filename)[0] if filename else None
        self.content_type = content_type or guessed or "application/octet-stream"
        self.inline = inline
        self.size = size

    def chunks(self, start: int = 0, end: int | None = None) -> AsyncGenerator[bytes, None]:
        """The bytes from ``start`` up to ``end`` (exclusive; None: to the end), chunk by chunk."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(filename={self.filename!r}, type={self.content_type!r}, size={self.size})"


class FileDownload(Download):
    """A file on disk, read in chunks off the event loop; ``Range`` is answered.

    Example:
        >>> from betrue.server import Response
        >>> async def get(params, ctx):  # doctest: +SKIP
        ...     return Response(stream=FileDownload("/srv/report.pdf", filename="report.pdf"))
    """

    seekable = True

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        filename: str | None = None,
        content_type: str | None = None,
        inline: bool = False,
    ) -> None:
        self.path = Path(path)
        super().__init__(
            filename=filename if filename is not None else self.path.name,
            content_type=content_type,
            inline=inline,
            size=self.path.stat().st_size,
        )

    async def chunks(self, start: int = 0, end: int | None = None) -> AsyncGenerator[bytes, None]:
        stop = self.size if end is None else end
        assert stop is not None
        handle = await asyncio.to_thread(self.path.open, "rb")
        try:
            await asyncio.to_thread(handle.seek, start)
            position = start
            while position < stop:
                chunk = await asyncio.to_thread(handle.read, min(CHUNK_SIZE, stop - position))
                if not chunk:
                    return
                position += len(chunk)
                yield chunk
        finally:
            handle.close()


class BytesDownload(Download):
    """Bytes already in memory (a generated image, a small export); ``Range`` is answered.

    Example:
        >>> BytesDownload(b"a,b\\n1,2\\n", filename="export.csv").content_type
        'text/csv'
    """

    seekable = True

    def __init__(
        self, data: bytes, *, filename: str | None = None, content_type: str | None = None, inline: bool = False
    ) -> None:
        self.data = memoryview(data)
        super().__init__(filename=filename, content_type=content_type, inline=inline, size=len(data))

    async def chunks(self, start: int = 0, end: int | None = None) -> AsyncGenerator[bytes, None]:
        stop = len(self.data) if end is None else end
        for offset in range(start, stop, CHUNK_SIZE):
            yield bytes(self.data[offset : min(offset + CHUNK_SIZE, stop)])


class StreamDownload(Download):
    """Chunks made while they are sent (an async generator); sent chunked, without ``Range``.

    Example:
        >>> async def rows():
        ...     yield b"id,name\\n"
        ...     yield b"1,ann\\n"
        >>> StreamDownload(rows(), filename="users.csv").seekable
        False
    """

    def __init__(
        self,
        chunks: AsyncIterable[bytes],
        *,
        filename: str | None = None,
        content_type: str | None = None,
        inline: bool = False,
        size: int | None = None,
    ) -> None:
        self.source = chunks
        super().__init__(filename=filename, content_type=content_type, inline=inline, size=size)

    async def chunks(self, start: int = 0, end: int | None = None) -> AsyncGenerator[bytes, None]:
        async for chunk in self.source:
            if chunk:
                yield bytes(chunk)


def parse_range(header: str | None, size: int | None) -> tuple[int, int] | None:
    """The one byte range ``header`` asks for, as ``(start, end)`` with ``end`` exclusive; None for the whole.

    Several ranges, or a header that is not ``bytes=…``, get the whole body (RFC 9110 lets a server
    ignore ``Range``); a range that starts past the end raises ``RangeNotSatisfiable``.

    Example:
        >>> parse_range("bytes=0-99", 1000), parse_range("bytes=-100", 1000), parse_range("bytes=990-", 1000)
        ((0, 100), (900, 1000), (990, 1000))
    """
    if not header or size is None:
        return None
    match = _RANGE.fullmatch(header.strip())
    if match is None:
        return None
    first, last = match[1], match[2]
    if not first and not last:
        return None
    if not first:  # a suffix: the last N bytes
        length = int(last)
        if length == 0:
            raise RangeNotSatisfiable(details={"size": size})
        return max(size - length, 0), size
    start = int(first)
    end = size if not last else min(int(last) + 1, size)
    if start >= size or (last and int(last) < start):
        raise RangeNotSatisfiable(details={"size": size})
    return start, end


def content_disposition(download: Download) -> str:
    """The ``Content-Disposition`` header: an ASCII ``filename`` and the exact UTF-8 ``filename*``.

    Example:
        >>> content_disposition(BytesDownload(b"", filename='résumé "v2".pdf'))
        'attachment; filename="r_sum_ _v2_.pdf"; filename*=UTF-8\\'\\'r%C3%A9sum%C3%A9%20%22v2%22.pdf'
    """
    kind = "inline" if download.inline else "attachment"
    if not download.filename:
        return kind
    name = download.filename.replace("\\", "/").rsplit("/", 1)[-1]  # a name, never a path
    ascii_name = _UNSAFE_NAME.sub("_", name.encode("ascii", "replace").decode().replace("?", "_"))
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"
