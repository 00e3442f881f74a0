"""What an upload command receives: the form fields as params and the files as async streams of chunks.

Nothing here holds a whole file: each chunk is handed to the handler as it arrives, counted against the
command's limit on the way, and a failure (too large, wrong type, client gone, too slow) is raised to the
handler at the read where it happens and kept on the ``Upload``, so the caller gets that error whatever
the handler does with it.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from betrue.server.errors import BetrueError, PayloadTooLarge, RequestTimeout, UnsupportedMediaType, ValidationError
from betrue.server.streams.sources import MemorySource, Part, Source

if TYPE_CHECKING:
    from betrue.server.streams.spec import StreamSpec
    from betrue.server.validation import Validator

__all__ = ["Upload", "UploadFile"]


class UploadFile:
    """One uploaded file, read as it arrives: ``async for chunk in file``, ``await file.save(path)``.

    ``name`` is the form field (``""`` for a raw body), ``filename`` what the client called it (never a
    path to trust), ``content_type`` its declared media type, ``size`` the bytes read so far.

    Example:
        >>> async def handler(params, ctx):  # doctest: +SKIP
        ...     file = await params.file()
        ...     written = await file.save(f"/srv/uploads/{ctx.trace_id}")
        ...     return {"name": file.filename, "size": written, "type": file.content_type}
    """

    __slots__ = ("_part", "_upload", "content_type", "filename", "finished", "name", "size")

    def __init__(self, upload: Upload, part: Part) -> None:
        self._upload = upload
        self._part = part
        self.name = part.name
        self.filename = part.filename
        self.content_type = part.content_type or "application/octet-stream"
        self.size = 0
        self.finished = False

    def __repr__(self) -> str:
        return f"UploadFile({self.name!r}, filename={self.filename!r}, type={self.content_type!r}, size={self.size})"

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._chunks()

    async def _chunks(self) -> AsyncIterator[bytes]:
        while chunk := await self._upload._read(self):
            yield chunk

    async def read(self) -> bytes:
        """The whole file in memory (bounded by the command's ``max_size``); prefer iterating or ``save``."""
        return b"".join([chunk async for chunk in self])

    async def save(self, path: str | os.PathLike[str]) -> int:
        """Write the file to ``path`` and return its size; on any error no file is left behind.

        The bytes go to a hidden temporary file beside ``path``, renamed to ``path`` only once the
        upload ended well; the error (413, an interrupted upload, ...) is raised after the removal.
        """
        target = Path(path)
        partial = target.with_name(f".{target.name}.{os.urandom(6).hex()}.part")
        handle = await asyncio.to_thread(partial.open, "wb")
        try:
            async for chunk in self:
                await asyncio.to_thread(handle.write, chunk)
            await asyncio.to_thread(handle.close)
            await asyncio.to_thread(os.replace, partial, target)
        except BaseException:
            handle.close()
            partial.unlink(missing_ok=True)
            raise
        return self.size

    async def discard(self) -> None:
        """Read the rest of the file to nowhere (still counted against the limit)."""
        async for _ in self:
            pass


class Upload(Mapping[str, Any]):
    """The params of an upload command: its form fields by key, its files through ``files()``.

    Built by the HTTP adapter from the request (or by ``Upload.of`` in tests and in-process calls); the
    command's stream stage reads and validates the fields before the handler runs. ``error`` is what
    ended the upload early, if anything; it is the answer of the call whatever the handler returned.

    Example:
        >>> async def put(params, ctx):  # doctest: +SKIP
        ...     room = params["room"]                  # a validated form field
        ...     async for file in params.files():      # each file as it arrives
        ...         async for chunk in file:
        ...             ...
    """

    def __init__(self, source: Source) -> None:
        self.source = source
        self.fields: dict[str, Any] = {}
        self.error: BetrueError | None = None
        self.size = 0
        """Bytes of every file read so far."""
        self.files_seen = 0
        self._spec: StreamSpec | None = None
        self._pending: Part | None = None
        self._current: UploadFile | None = None
        self._opened = False

    @classmethod
    def of(
        cls,
        data: bytes = b"",
        *,
        filename: str | None = "upload",
        content_type: str = "application/octet-stream",
        fields: Mapping[str, Any] | None = None,
        name: str = "file",
    ) -> Upload:
        """An upload from bytes in memory: for tests, and for in-process calls of upload commands.

        Example:
            >>> Upload.of(b"hello", filename="a.txt", content_type="text/plain", fields={"room": "r1"}).source
            MemorySource(1 file)
        """
        return cls(MemorySource(dict(fields or {}), [Part(name, filename, content_type, data)]))

    # -- fields (Mapping) -------------------------------------------------------------------------

    def __getitem__(self, key: str) -> Any:
        return self.fields[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.fields)

    def __len__(self) -> int:
        return len(self.fields)

    def __repr__(self) -> str:
        return f"Upload(fields={sorted(self.fields)}, size={self.size}, error={self.error!r})"

    async def open(self, spec: StreamSpec, validator: Validator) -> None:
        """Check the body against ``spec``, read the form fields (up to the first file), validate them."""
        if self._opened:
            return
        self._opened, self._spec = True, spec
        try:
            fields, self._pending = await self.source.open(spec)
        except BetrueError as error:
            raise self._fail(error) from None
        self.fields = validator.validate(fields)

    # -- files ------------------------------------------------------------------------------------

    async def files(self) -> AsyncIterator[UploadFile]:
        """Each file as it arrives (a raw body is one file); the previous one is drained when you move on."""
        spec = self._require_open()
        while True:
            if self._current is not None and not self._current.finished:
                await self._current.discard()
            part = self._pending if self._pending is not None else await self._next_part()
            self._pending = None
            if part is None:
                return
            if not part.is_file:
                raise self._fail(ValidationError("Form fields must come before files", details={"reason": "order"}))
            self.files_seen += 1
            if self.files_seen > spec.max_files:
                many = PayloadTooLarge(f"At most {spec.max_files} file(s) per upload", details={"reason": "files"})
                raise self._fail(many)
            if not spec.accepts(part.content_type):
                error = UnsupportedMediaType(
                    f"Files of type {part.content_type or 'unknown'} are not accepted",
                    details={"reason": "content_type", "accepted": list(spec.content_types)},
                )
                raise self._fail(error)
            self._current = UploadFile(self, part)
            yield self._current

    async def file(self) -> UploadFile:
        """The first file (the only one of a raw body); 400 when the upload has none."""
        async for file in self.files():
            return file
        raise self._fail(ValidationError("The upload has no file", details={"reason": "no_file"}))

    async def finish(self) -> BetrueError | None:
        """After the handler: the error that ended the upload, if any (the answer of the call then)."""
        return self.error

    @property
    def complete(self) -> bool:
        """Whether the whole body was read (nothing left for the server to skip)."""
        return self.source.at_eof()

    # -- internals --------------------------------------------------------------------------------

    def _require_open(self) -> StreamSpec:
        if self._spec is None:
            raise RuntimeError("the upload is opened by the command's stream stage before the handler runs")
        if self.error is not None:
            raise self.error
        return self._spec

    async def _next_part(self) -> Part | None:
        spec = self._require_open()
        try:
            async with asyncio.timeout(spec.idle_timeout):
                return await self.source.next_part()
        except BaseException as error:
            raise self._fail(_mapped(error, spec)) from None

    async def _read(self, file: UploadFile) -> bytes:
        spec = self._require_open()
        if file.finished:
            return b""
        try:
            async with asyncio.timeout(spec.idle_timeout):
                chunk = await file._part.read_chunk()
        except BaseException as error:
            raise self._fail(_mapped(error, spec)) from None
        if not chunk:
            file.finished = True
            await self._check_nothing_follows(spec)
            return b""
        self.size += len(chunk)
        file.size += len(chunk)
        if self.size > spec.max_size:
            file.finished = True
            too_large = PayloadTooLarge(
                f"The upload is over the limit of {spec.max_size} bytes", details={"limit": spec.max_size}
            )
            raise self._fail(too_large)
        return chunk

    async def _check_nothing_follows(self, spec: StreamSpec) -> None:
        """After the last file the command takes: one more file is a 413, a field a 400 (not silently dropped).

        Raised at the read that ends the file, so a handler saving it (``UploadFile.save``) keeps nothing.
        """
        if self.files_seen < spec.max_files or self._pending is not None:
            return
        following = await self._next_part()
        if following is None:
            return
        if following.is_file:
            raise self._fail(
                PayloadTooLarge(f"At most {spec.max_files} file(s) per upload", details={"reason": "files"})
            )
        raise self._fail(ValidationError("Form fields must come before files", details={"reason": "order"}))

    def _fail(self, error: BetrueError) -> BetrueError:
        if self.error is None:
            self.error = error
        if self._current is not None:
            self._current.finished = True
        return self.error


def _mapped(error: BaseException, spec: StreamSpec) -> BetrueError:
    """A reading failure as the error the caller is answered with (sources already map their own)."""
    if isinstance(error, BetrueError):
        return error
    if isinstance(error, TimeoutError):
        return RequestTimeout(f"No upload bytes for {spec.idle_timeout}s", details={"reason": "idle"})
    if isinstance(error, ConnectionError):
        return ValidationError("The upload was interrupted", details={"reason": "interrupted"})
    raise error
