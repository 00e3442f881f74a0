"""Streams over HTTP: an upload command's call (body streamed to its handler) and a download as the answer.

The HTTP adapter hands a request here when the command takes an upload (``takes_upload``) and when a
Response carries a download (``write_download``); everything about streams over HTTP lives here.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from aiohttp import web
from loguru import logger

from betrue.server.commands import Command
from betrue.server.errors import BetrueError, InternalError, RequestTimeout, UnsupportedMediaType
from betrue.server.response import Response, error_envelope
from betrue.server.streams.downloads import Download, RangeNotSatisfiable, content_disposition, parse_range
from betrue.server.streams.sources import MultipartSource, RawSource, RefusedSource, Source
from betrue.server.streams.spec import StreamSpec
from betrue.server.streams.uploads import Upload
from betrue.server.wire import encode_json

if TYPE_CHECKING:
    from betrue.server.application import Application

__all__ = ["call_with_upload", "takes_upload", "upload_from_request", "write_download"]


def takes_upload(command: Command) -> bool:
    """Whether ``command`` reads its params from a streamed body rather than JSON."""
    return isinstance(command.stream, StreamSpec) and command.stream.upload


def upload_from_request(request: web.BaseRequest, spec: StreamSpec) -> Upload:
    """The ``Upload`` over a request's body; nothing is read until the stream stage opens it."""
    media = (request.headers.get("Content-Type") or "").split(";", 1)[0].strip().lower()
    source: Source
    if media == "multipart/form-data" and spec.mode != "raw":
        source = MultipartSource(request)
    elif spec.mode != "multipart" and not media.startswith("multipart/"):
        source = RawSource(request)
    else:
        expected = "multipart/form-data" if spec.mode == "multipart" else "a raw body"
        source = RefusedSource(
            UnsupportedMediaType(f"This command takes {expected}", details={"reason": "content_type"})
        )
    return Upload(source)


async def call_with_upload(
    app: Application,
    request: web.Request,
    command: Command,
    meta: Mapping[str, str],
    *,
    render: Callable[[Response], web.StreamResponse],
) -> web.StreamResponse:
    """Run an upload command with the request body streamed to its handler, and answer it.

    When the upload failed (413, 415, interrupted, too slow) that error is the answer, whatever the
    handler returned; the rest of an unread body is skipped by aiohttp (for up to its lingering time)
    so the client can read the answer, except after a timeout, where the connection is closed.
    """
    assert isinstance(command.stream, StreamSpec)
    upload = upload_from_request(request, command.stream)
    response = await app.handle(command.code, upload, meta, adapter="http", remote=request.remote)
    failure = await upload.finish()
    if failure is not None and response.error is not failure:
        trace_id = response.trace_id
        response = Response.from_error(failure)
        response.trace_id = trace_id
    if response.stream is not None:
        return await write_download(request, response)
    reply = render(response)
    if isinstance(failure, RequestTimeout) or request.content.exception() is not None:
        # Too slow, gone or broken: aiohttp's lingering read of the rest would wait on it or re-raise its error.
        reply.force_close()
    return reply


def _envelope_reply(error: BetrueError, trace_id: str, headers: Mapping[str, str] | None = None) -> web.Response:
    return web.Response(
        body=encode_json(error_envelope(error, trace_id)),
        status=error.code,
        headers={"Content-Type": "application/json", "x-trace-id": trace_id, **(headers or {})},
    )


async def write_download(request: web.BaseRequest, response: Response) -> web.StreamResponse:
    """Send ``response.stream`` (a ``Download``) as the body: chunked, ``Content-Disposition``, ``Range`` → 206.

    A download that fails after its headers were sent cannot become an error envelope any more: the
    connection is cut, so the client sees a broken transfer rather than a short file that looks whole.
    """
    trace_id = response.trace_id or ""
    download = response.stream
    if not isinstance(download, Download):
        logger.bind(trace_id=trace_id).error("Response.stream must be a Download, not {}", type(download).__name__)
        return _envelope_reply(InternalError(f"Internal error (trace id {trace_id})"), trace_id)
    headers: dict[str, Any] = {
        "Content-Type": download.content_type,
        "Content-Disposition": content_disposition(download),
        "X-Content-Type-Options": "nosniff",
        "x-trace-id": trace_id,
        **response.headers,
    }
    status, start, end = 200, 0, download.size
    if download.seekable:
        headers["Accept-Ranges"] = "bytes"
        asked = request.headers.get("Range") if "If-Range" not in request.headers else None
        try:
            window = parse_range(asked, download.size)
        except RangeNotSatisfiable as error:
            return _envelope_reply(error, trace_id, {"Content-Range": f"bytes */{download.size}"})
        if window is not None:
            status, (start, end) = 206, window
            headers["Content-Range"] = f"bytes {start}-{end - 1}/{download.size}"
    reply = web.StreamResponse(status=status if response.code in (200, 206) else response.code, headers=headers)
    if end is not None:
        reply.content_length = end - start
    else:
        reply.enable_chunked_encoding()
    await reply.prepare(request)
    chunks = download.chunks(start, end if status == 206 else None)
    try:
        async with contextlib.aclosing(chunks):
            async for chunk in chunks:
                await reply.write(chunk)
    except (ConnectionError, OSError) as error:
        logger.bind(trace_id=trace_id).info("download cut: the client went away ({})", type(error).__name__)
        return reply
    except Exception:
        logger.bind(trace_id=trace_id).opt(exception=True).error("download failed after its headers were sent")
        if request.transport is not None:
            request.transport.abort()
        return reply
    await reply.write_eof()
    return reply
