"""Commands that take and return streams: uploads read as they arrive, downloads sent in chunks.

Example:
    >>> from betrue.server import Group, Response
    >>> from betrue.server.streams import BytesDownload, StreamSpec
    >>> files = Group("files")
    >>> @files.command("echo", stream=StreamSpec(max_size=1_000_000, content_types=["text/*"], download="text/plain"))
    ... async def echo(params, ctx):
    ...     file = await params.file()
    ...     return Response(stream=BytesDownload(await file.read(), filename=file.filename))
"""

from betrue.server.streams.downloads import (
    BytesDownload,
    Download,
    FileDownload,
    RangeNotSatisfiable,
    StreamDownload,
    content_disposition,
    parse_range,
)
from betrue.server.streams.http import call_with_upload, takes_upload, upload_from_request, write_download
from betrue.server.streams.spec import DEFAULT_MAX_SIZE, StreamSpec, describe_stream, media_type_allowed, stream_stage
from betrue.server.streams.uploads import Upload, UploadFile

__all__ = [
    "DEFAULT_MAX_SIZE",
    "BytesDownload",
    "Download",
    "FileDownload",
    "RangeNotSatisfiable",
    "StreamDownload",
    "StreamSpec",
    "Upload",
    "UploadFile",
    "call_with_upload",
    "content_disposition",
    "describe_stream",
    "media_type_allowed",
    "parse_range",
    "stream_stage",
    "takes_upload",
    "upload_from_request",
    "write_download",
]
