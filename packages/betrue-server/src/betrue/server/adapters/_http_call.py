"""One command call over HTTP: request → params (media type, size limit, body deadline, strict JSON) → envelope.

Everything that can be decided at start (limits, the handle function, the accepted media types) is bound
into the handler once, so a request runs straight through: headers → body → ``Application.handle`` → JSON.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web
from loguru import logger

from betrue.server.adapters._http_server import HttpProtocol, envelope_response
from betrue.server.context import trace_id_from
from betrue.server.errors import (
    BetrueError,
    InternalError,
    PayloadTooLarge,
    RequestTimeout,
    UnsupportedMediaType,
    ValidationError,
)
from betrue.server.observability._logging import log_rejected
from betrue.server.response import Response, error_envelope
from betrue.server.streams.http import call_with_upload, takes_upload, write_download
from betrue.server.wire import decode_json, encode_json

if TYPE_CHECKING:
    from betrue.server.application import Application

__all__ = ["http_status", "is_json_media_type", "make_call_handler", "render"]

RequestHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_BODYLESS = frozenset({204, 205, 304})
_media_types: dict[str, bool] = {}
_MEDIA_CACHE_SIZE = 256


def is_json_media_type(content_type: str) -> bool:
    """``application/json`` or ``application/<anything>+json``, with no charset or a UTF-8 one.

    Example:
        >>> is_json_media_type("application/json; charset=UTF-8"), is_json_media_type("text/plain")
        (True, False)
    """
    known = _media_types.get(content_type)
    if known is not None:
        return known
    media, *parameters = content_type.split(";")
    kind = media.strip().lower()
    accepted = kind == "application/json" or (kind.startswith("application/") and kind.endswith("+json"))
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"').lower() not in ("utf-8", "utf8"):
            accepted = False
    if len(_media_types) < _MEDIA_CACHE_SIZE:  # bounded: the header is the client's to choose
        _media_types[content_type] = accepted
    return accepted


def http_status(code: int) -> int:
    """The HTTP status for an envelope code: the code itself, unless HTTP could not carry the envelope with it."""
    if 200 <= code <= 599 and code not in _BODYLESS:
        return code
    return 500 if code >= 600 else 200


async def read_params(request: web.Request, content_type: str | None, limit: int, timeout: float) -> Any:
    """The request's params: ``{}`` without a body, else its strictly decoded JSON.

    Raises UnsupportedMediaType (415), PayloadTooLarge (413, counted on the bytes read, so chunked and
    compressed bodies are bounded too), RequestTimeout (408) and ValidationError (400).
    """
    if not request.body_exists:
        return {}
    if content_type is None or not is_json_media_type(content_type):
        raise UnsupportedMediaType("The body must be JSON (Content-Type: application/json)")
    length = request.content_length
    if length is not None and length > limit:
        raise PayloadTooLarge(f"The body is over the limit of {limit} bytes", details={"limit": limit})
    content = request.content
    try:
        if content.is_eof():  # the whole body arrived with the headers: the common case, no clock needed
            body = content.read_nowait()
        else:
            body = await _read_slowly(content, limit, timeout)
    except web.RequestPayloadError as error:  # broken chunked encoding, bad compression
        raise ValidationError(f"Malformed body: {error}") from None
    if len(body) > limit:
        raise PayloadTooLarge(f"The body is over the limit of {limit} bytes", details={"limit": limit})
    if not body:
        return {}
    return decode_json(body)


async def _read_slowly(content: Any, limit: int, timeout: float) -> bytes:
    chunks = bytearray()
    try:
        async with asyncio.timeout(timeout):
            while chunk := await content.readany():
                chunks += chunk
                if len(chunks) > limit:
                    raise PayloadTooLarge(f"The body is over the limit of {limit} bytes", details={"limit": limit})
    except TimeoutError:
        raise RequestTimeout(f"The body took over {timeout}s to arrive") from None
    return bytes(chunks)


def render(response: Response) -> web.Response:
    """The envelope of ``response`` as JSON, its code as the HTTP status, its headers and ``x-trace-id``."""
    trace_id = response.trace_id or ""
    try:
        body = encode_json(response.envelope(trace_id))
        status = http_status(response.code)
    except TypeError as error:  # orjson's JSONEncodeError is a TypeError: a result that is not JSON
        logger.bind(trace_id=trace_id).error("the result could not be encoded as JSON: {}", error)
        body = encode_json(error_envelope(InternalError(f"Internal error (trace id {trace_id})"), trace_id))
        status = 500
    headers = {"Content-Type": "application/json", "x-trace-id": trace_id}
    if response.headers:
        headers.update(response.headers)
    return web.Response(body=body, status=status, headers=headers)


def make_call_handler(app: Application, *, limit: int, timeout: float) -> RequestHandler:
    """The aiohttp handler of ``POST <prefix>/<code>``, bound once to ``app`` and the limits."""
    handle = app.handle

    async def call(request: web.Request) -> web.StreamResponse:
        meta = {name.lower(): value for name, value in request.headers.items()}
        code = request.match_info["code"]
        command = app.commands.get(code)
        if command is not None and takes_upload(command):  # the body is streamed to the handler (streams/)
            return await call_with_upload(app, request, command, meta, render=render)
        try:
            params = await read_params(request, meta.get("content-type"), limit, timeout)
        except BetrueError as error:
            return await _reject(request, code, meta, error)
        response = await handle(code, params, meta, adapter="http")
        return await write_download(request, response) if response.stream is not None else render(response)

    return call


async def _reject(request: web.Request, code: str, meta: dict[str, str], error: BetrueError) -> web.StreamResponse:
    """Answer a request that never reached its command; a body left unread closes the connection."""
    trace_id = trace_id_from(meta)
    log_rejected(code, trace_id, error, adapter="http")
    response = envelope_response(error, trace_id)
    if isinstance(error, RequestTimeout) or request.content.exception() is not None:
        # Too slow, or a body that broke on the way (bad chunking, bad compression): aiohttp's lingering read
        # of the rest would wait on that client or re-raise its error, so answer, then hang up.
        response.force_close()
        await response.prepare(request)
        await response.write_eof()
        if isinstance(request.protocol, HttpProtocol):
            request.protocol.hang_up()
    return response
