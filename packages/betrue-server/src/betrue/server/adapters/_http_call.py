"""One command call over HTTP: request → params (media type, size limit, body deadline, strict JSON) → envelope.

Everything that can be decided at start (limits, the handle function, the accepted media types) is bound
into the handler once, so a request runs straight through: headers → body → ``Application.handle`` → JSON.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import HttpVersion11, web
from loguru import logger

from betrue.server.adapters._http_guard import HostPolicy, request_problem
from betrue.server.adapters._http_server import SERVER_NAME, HttpProtocol, envelope_response
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
ExpectHandler = Callable[[web.Request], Awaitable[web.StreamResponse | None]]

CONTENT_ENCODINGS = {"identity": 0, "gzip": 31, "x-gzip": 31, "deflate": 15}
"""``Content-Encoding`` values a JSON body may have, with their zlib window bits (others: 415)."""

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


def content_encoding(request: web.BaseRequest) -> str:
    """The body's ``Content-Encoding`` (lower-case, ``identity`` when absent); 415 for any other than
    gzip and deflate, including stacked ones (``gzip, gzip``)."""
    encoding = (request.headers.get("Content-Encoding") or "identity").strip().lower()
    if encoding not in CONTENT_ENCODINGS:
        raise UnsupportedMediaType(
            "The body's Content-Encoding must be gzip, deflate or none",
            details={"reason": "content_encoding", "accepted": ["gzip", "deflate", "identity"]},
        )
    return encoding


async def read_params(request: web.Request, content_type: str | None, limit: int, timeout: float) -> Any:
    """The request's params: ``{}`` without a body, else its strictly decoded JSON.

    Raises UnsupportedMediaType (415: not JSON, or an unknown ``Content-Encoding``), PayloadTooLarge
    (413, on the bytes received and on the decompressed size, so chunked and compressed bodies are
    bounded), RequestTimeout (408) and ValidationError (400: bad JSON, a compressed body that is broken,
    truncated or followed by other bytes).
    """
    if not request.body_exists:
        return {}
    if content_type is None or not is_json_media_type(content_type):
        raise UnsupportedMediaType("The body must be JSON (Content-Type: application/json)")
    encoding = content_encoding(request)
    length = request.content_length
    if length is not None and length > limit:
        raise PayloadTooLarge(f"The body is over the limit of {limit} bytes", details={"limit": limit})
    content = request.content
    try:
        if content.is_eof():  # the whole body arrived with the headers: the common case, no clock needed
            body = content.read_nowait()
        else:
            body = await _read_slowly(content, limit, timeout)
    except web.RequestPayloadError:  # broken chunked encoding
        raise ValidationError("Malformed body: its transfer encoding is broken", details={"reason": "body"}) from None
    if len(body) > limit:
        raise PayloadTooLarge(f"The body is over the limit of {limit} bytes", details={"limit": limit})
    if encoding != "identity" and body:
        body = _decompress(body, encoding, limit)
    if not body:
        return {}
    return decode_json(body)


def _decompress(body: bytes, encoding: str, limit: int) -> bytes:
    """The whole decompressed body: 413 past ``limit``, 400 unless the stream ends exactly where the body does."""
    decompressor = zlib.decompressobj(CONTENT_ENCODINGS[encoding])
    try:
        plain = decompressor.decompress(body, limit + 1)
    except zlib.error:
        raise ValidationError(f"The body is not valid {encoding}", details={"reason": "content_encoding"}) from None
    if len(plain) > limit or decompressor.unconsumed_tail:
        raise PayloadTooLarge(f"The body is over the limit of {limit} bytes", details={"limit": limit})
    if not decompressor.eof or decompressor.unused_data:
        raise ValidationError(
            f"The {encoding} body is truncated or followed by other bytes", details={"reason": "content_encoding"}
        )
    return plain


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
        if response.error is None:  # response.envelope(trace_id), without two calls on every success
            envelope = {
                "code": response.code,
                "status": response.status,
                "result": response.result,
                "traceId": trace_id,
            }
        else:
            envelope = response.envelope(trace_id)
        body = encode_json(envelope)
        status = http_status(response.code)
    except TypeError as error:  # orjson's JSONEncodeError is a TypeError: a result that is not JSON
        logger.bind(trace_id=trace_id).error("the result could not be encoded as JSON: {}", error)
        body = encode_json(error_envelope(InternalError(f"Internal error (trace id {trace_id})"), trace_id))
        status = 500
    headers = {"Content-Type": "application/json", "x-trace-id": trace_id, "Server": SERVER_NAME}
    retry_after = _retry_after(response)
    if retry_after is not None:
        headers["Retry-After"] = retry_after
    if response.headers:
        headers.update(response.headers)
    return web.Response(body=body, status=status, headers=headers)


def _retry_after(response: Response) -> str | None:
    """``Retry-After`` for a 429/503 whose error details say ``retryAfter`` (seconds)."""
    if response.code not in (429, 503) or response.error is None:
        return None
    details = response.error.details
    seconds = details.get("retryAfter") if isinstance(details, dict) else None
    if isinstance(seconds, int | float) and not isinstance(seconds, bool) and seconds >= 0:
        return str(max(1, round(seconds)))
    return None


def make_call_handler(
    app: Application, *, limit: int, timeout: float, hosts: HostPolicy | None = None
) -> tuple[RequestHandler, ExpectHandler]:
    """The aiohttp handler of ``POST <prefix>/<code>`` and its ``Expect: 100-continue`` handler, bound once."""
    handle = app.handle
    allowed_hosts = hosts if hosts is not None else HostPolicy()

    async def call(request: web.Request) -> web.StreamResponse:
        meta = {name.lower(): value for name, value in request.headers.items()}
        code = request.match_info["code"]
        command = app.commands.get(code)
        if command is not None and takes_upload(command):  # the body is streamed to the handler (streams/)
            if (request.headers.get("Content-Encoding") or "identity").strip().lower() != "identity":
                error = UnsupportedMediaType(
                    "Uploads are sent without Content-Encoding", details={"reason": "content_encoding"}
                )
                return await _reject(request, code, meta, error)
            return await call_with_upload(app, request, command, meta, render=render)
        try:
            params = await read_params(request, meta.get("content-type"), limit, timeout)
        except BetrueError as error:
            return await _reject(request, code, meta, error)
        response = await handle(code, params, meta, adapter="http", remote=request.remote)
        return await write_download(request, response) if response.stream is not None else render(response)

    async def expect(request: web.Request) -> web.StreamResponse | None:
        """``Expect: 100-continue``: refuse before the body when the headers already decide it (401, 403, 400)."""
        if request.version != HttpVersion11:
            return None
        if (request.headers.get("Expect") or "").lower() != "100-continue":
            return _closing(envelope_response(ExpectationFailed(), trace_id_from({})))
        meta = {name.lower(): value for name, value in request.headers.items()}
        problem = request_problem(request, allowed_hosts)
        command = app.commands.get(request.match_info["code"])
        if problem is None and command is not None:
            from betrue.server.auth.stage import check_caller

            problem = await check_caller(app, command, meta, "http")
        if problem is not None:
            log_rejected(request.match_info["code"], trace_id_from(meta), problem, adapter="http")
            return _closing(envelope_response(problem, trace_id_from(meta)))
        await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        request.writer.output_size = 0  # the answer's own bytes start now
        return None

    return call, expect


def _closing(response: web.Response) -> web.Response:
    response.force_close()  # the body the client holds back is not read: the connection cannot be reused
    return response


class ExpectationFailed(BetrueError):
    """An ``Expect`` header other than ``100-continue``."""

    code = 417
    status = "ExpectationFailed"
    default_message = "Only Expect: 100-continue is understood"


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
