"""Downloads over real HTTP: files, bytes and generated streams; Content-Disposition; Range → 206 and 416."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from betrue.server import Application, Group, Response
from betrue.server.streams import (
    BytesDownload,
    FileDownload,
    RangeNotSatisfiable,
    StreamDownload,
    StreamSpec,
    Upload,
    parse_range,
)
from betrue.server.testing import http_client

DATA = bytes(range(256)) * 4096  # 1 MiB: several chunks


def make_app(folder: Path) -> Application:
    files = Group("files")
    (folder / "report.bin").write_bytes(DATA)

    @files.command("get", input={"type": "object"}, stream=StreamSpec.downloads())
    async def get(params: dict[str, Any], ctx: Any) -> Response:
        return Response(stream=FileDownload(folder / "report.bin", filename="rapport été.bin"))

    @files.command("hello")
    async def hello(params: dict[str, Any], ctx: Any) -> Response:
        return Response(stream=BytesDownload(b"hello world", filename="hello.txt", inline=True))

    @files.command("rows")
    async def rows(params: dict[str, Any], ctx: Any) -> Response:
        async def generate() -> AsyncIterator[bytes]:
            for index in range(1000):
                yield f"{index},row {index}\n".encode()

        return Response(stream=StreamDownload(generate(), filename="rows.csv"))

    @files.command("broken")
    async def broken(params: dict[str, Any], ctx: Any) -> Response:
        async def generate() -> AsyncIterator[bytes]:
            yield b"first part,"
            raise RuntimeError("the export failed half way")

        return Response(stream=StreamDownload(generate(), filename="half.csv"))

    @files.command("echo", stream=StreamSpec(max_size=len(DATA), download="application/octet-stream"))
    async def echo(params: Upload, ctx: Any) -> Response:
        file = await params.file()
        return Response(stream=BytesDownload(await file.read(), filename=file.filename))

    return Application("downloads", groups=[files], environ={"AUTH_DEFAULT": "public"}, env_file=None)


async def fetch(url: str, headers: dict[str, str] | None = None, data: Any = None) -> tuple[int, Any, bytes]:
    json: dict[str, Any] | None = None if data is not None else {}
    async with aiohttp.ClientSession() as session, session.post(url, headers=headers, json=json, data=data) as reply:
        return reply.status, reply.headers, await reply.read()


async def test_a_file_is_sent_whole_with_its_name(tmp_path: Path) -> None:
    async with http_client(make_app(tmp_path)) as client:
        status, headers, body = await fetch(f"{client.url}/api/files/get")
    assert (status, body) == (200, DATA)
    assert headers["Content-Type"] == "application/octet-stream"
    assert headers["Content-Length"] == str(len(DATA))
    assert headers["Accept-Ranges"] == "bytes"
    assert headers["Content-Disposition"] == (
        "attachment; filename=\"rapport _t_.bin\"; filename*=UTF-8''rapport%20%C3%A9t%C3%A9.bin"
    )
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert len(headers["x-trace-id"]) == 32


@pytest.mark.parametrize(
    ("asked", "window"),
    [("bytes=0-99", (0, 100)), ("bytes=1000-", (1000, len(DATA))), ("bytes=-10", (len(DATA) - 10, len(DATA)))],
)
async def test_a_range_is_answered_206_with_those_bytes(tmp_path: Path, asked: str, window: tuple[int, int]) -> None:
    async with http_client(make_app(tmp_path)) as client:
        status, headers, body = await fetch(f"{client.url}/api/files/get", {"Range": asked})
    start, end = window
    assert (status, body) == (206, DATA[start:end])
    assert headers["Content-Range"] == f"bytes {start}-{end - 1}/{len(DATA)}"


async def test_a_range_past_the_end_is_416(tmp_path: Path) -> None:
    async with http_client(make_app(tmp_path)) as client:
        status, headers, body = await fetch(f"{client.url}/api/files/get", {"Range": f"bytes={len(DATA)}-"})
    assert (status, headers["Content-Range"]) == (416, f"bytes */{len(DATA)}")
    assert b'"RangeNotSatisfiable"' in body


async def test_bytes_inline_and_ranged(tmp_path: Path) -> None:
    async with http_client(make_app(tmp_path)) as client:
        status, headers, body = await fetch(f"{client.url}/api/files/hello", {"Range": "bytes=6-"})
    assert (status, body) == (206, b"world")
    assert headers["Content-Type"].startswith("text/plain")
    assert headers["Content-Disposition"].startswith('inline; filename="hello.txt"')


async def test_a_generated_stream_is_sent_chunked_without_ranges(tmp_path: Path) -> None:
    async with http_client(make_app(tmp_path)) as client:
        status, headers, body = await fetch(f"{client.url}/api/files/rows", {"Range": "bytes=0-9"})
    assert status == 200  # no Range on a stream made while it is sent
    assert headers["Transfer-Encoding"] == "chunked"
    assert "Accept-Ranges" not in headers
    assert body.count(b"\n") == 1000
    assert body.startswith(b"0,row 0\n")


async def test_a_stream_that_fails_half_way_is_a_broken_transfer_not_a_short_file(tmp_path: Path) -> None:
    async with http_client(make_app(tmp_path)) as client:
        with pytest.raises(aiohttp.ClientPayloadError):
            await fetch(f"{client.url}/api/files/broken")


async def test_an_upload_can_answer_a_download(tmp_path: Path) -> None:
    body = aiohttp.FormData()
    body.add_field("file", DATA[:5000], filename="back.bin", content_type="application/octet-stream")
    async with http_client(make_app(tmp_path)) as client:
        status, headers, answer = await fetch(f"{client.url}/api/files/echo", data=body)
    assert (status, answer) == (200, DATA[:5000])
    assert 'filename="back.bin"' in headers["Content-Disposition"]


def test_parse_range_ignores_what_it_cannot_serve() -> None:
    assert parse_range("bytes=0-1,5-6", 10) is None  # several ranges: the whole body
    assert parse_range("items=0-1", 10) is None
    assert parse_range("bytes=5-100", 10) == (5, 10)
    with pytest.raises(RangeNotSatisfiable):
        parse_range("bytes=8-3", 10)
    with pytest.raises(RangeNotSatisfiable):
        parse_range("bytes=-0", 10)
