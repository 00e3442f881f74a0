"""Upload commands over real HTTP: sizes at the limit, 413/415, fields, interrupted bodies, auth before reading."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from betrue.server import Application, BetrueError, Group, Response
from betrue.server.streams import StreamSpec, Upload
from betrue.server.testing import TestApp, http_client

LIMIT = 1000
FIELDS = {
    "type": "object",
    "properties": {"room": {"type": "string", "minLength": 1}, "meta": {"type": "object"}},
    "additionalProperties": False,
}


class Recorder:
    """What the handlers saw: the errors raised to them, and a folder for the files they keep."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.errors: list[BetrueError] = []
        self.failed = asyncio.Event()
        self.started = asyncio.Event()
        self.calls = 0

    def kept(self) -> list[str]:
        return sorted(path.name for path in self.folder.iterdir())


def make_app(recorder: Recorder) -> Application:
    files = Group("files")
    spec = StreamSpec(max_size=LIMIT, content_types=["text/plain", "image/*"], fields=FIELDS)

    async def keep(params: Upload) -> dict[str, Any]:
        recorder.calls += 1
        recorder.started.set()
        saved = []
        try:
            async for file in params.files():
                size = await file.save(recorder.folder / f"{recorder.calls}-{file.filename or 'raw'}")
                saved.append({"name": file.name, "filename": file.filename, "type": file.content_type, "size": size})
        except BetrueError as error:
            recorder.errors.append(error)
            recorder.failed.set()
            raise
        return {"files": saved, "fields": dict(params)}

    @files.command("put", stream=spec, auth="public")
    async def put(params: Upload, ctx: Any) -> dict[str, Any]:
        return await keep(params)

    @files.command("raw", stream=StreamSpec(max_size=LIMIT, content_types=["text/plain"], mode="raw"), auth="public")
    async def raw(params: Upload, ctx: Any) -> dict[str, Any]:
        return await keep(params)

    two = StreamSpec(max_size=LIMIT, max_files=2, mode="multipart")

    @files.command("pair", stream=two, auth="public")
    async def pair(params: Upload, ctx: Any) -> dict[str, Any]:
        return await keep(params)

    @files.command("swallow", stream=StreamSpec(max_size=LIMIT), auth="public")
    async def swallow(params: Upload, ctx: Any) -> Response:
        try:
            await (await params.file()).read()
        except BetrueError as error:  # a handler that hides the error: the caller still gets it
            recorder.errors.append(error)
        return Response({"ok": True})

    return Application("uploads", groups=[files], environ={}, env_file=None)


@pytest.fixture
def recorder(tmp_path: Path) -> Recorder:
    return Recorder(tmp_path)


def form(data: bytes, *, content_type: str = "text/plain", filename: str = "a.txt", **fields: str) -> aiohttp.FormData:
    body = aiohttp.FormData()
    for name, value in fields.items():
        body.add_field(name, value)
    body.add_field("file", data, filename=filename, content_type=content_type)
    return body


async def post(client: TestApp, code: str, data: Any, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{client.url}/api/{code}", data=data, headers=headers or {}) as reply,
    ):
        return reply.status, await reply.json()


@pytest.mark.parametrize("size", [0, 1, LIMIT])
async def test_multipart_uploads_up_to_the_limit_are_kept_whole(recorder: Recorder, size: int) -> None:
    data = bytes(range(256)) * 4
    async with http_client(make_app(recorder)) as client:
        status, envelope = await post(client, "files/put", form(data[:size], room="r1"))
    assert (status, envelope["result"]["fields"]) == (200, {"room": "r1"})
    assert envelope["result"]["files"] == [{"name": "file", "filename": "a.txt", "type": "text/plain", "size": size}]
    assert (recorder.folder / "1-a.txt").read_bytes() == data[:size]


@pytest.mark.parametrize("size", [0, 1, LIMIT])
async def test_raw_uploads_up_to_the_limit_are_kept_whole(recorder: Recorder, size: int) -> None:
    headers = {"Content-Type": "text/plain", "Content-Disposition": 'attachment; filename="notes.txt"'}
    async with http_client(make_app(recorder)) as client:
        status, envelope = await post(client, "files/raw", b"x" * size, headers)
    assert status == 200
    assert envelope["result"]["files"] == [{"name": "", "filename": "notes.txt", "type": "text/plain", "size": size}]
    assert (recorder.folder / "1-notes.txt").read_bytes() == b"x" * size


async def test_one_byte_over_the_limit_is_413_and_nothing_is_kept(recorder: Recorder) -> None:
    async with http_client(make_app(recorder)) as client:
        status, envelope = await post(client, "files/put", form(b"x" * (LIMIT + 1), room="r1"))
        assert (status, envelope["status"], envelope["error"]["details"]) == (413, "PayloadTooLarge", {"limit": LIMIT})
        assert [type(error).__name__ for error in recorder.errors] == ["PayloadTooLarge"]
        assert recorder.kept() == []
        status, _ = await post(client, "files/put", form(b"ok", room="r1"))  # the server is fine afterwards
        assert status == 200


async def test_a_chunked_raw_body_over_the_limit_is_cut_at_the_limit(recorder: Recorder) -> None:
    async def body() -> AsyncIterator[bytes]:
        for _ in range(100):
            yield b"y" * 100

    async with http_client(make_app(recorder)) as client:
        status, envelope = await post(client, "files/raw", body(), {"Content-Type": "text/plain"})
    assert (status, envelope["status"]) == (413, "PayloadTooLarge")
    assert recorder.kept() == []


async def test_a_declared_length_over_the_limit_is_refused_before_reading(recorder: Recorder) -> None:
    async with http_client(make_app(recorder)) as client:
        status, envelope = await post(client, "files/raw", b"z" * (LIMIT * 5), {"Content-Type": "text/plain"})
    assert (status, envelope["status"]) == (413, "PayloadTooLarge")
    assert recorder.errors == []
    assert recorder.kept() == []


async def test_a_handler_that_hides_the_overflow_still_answers_413(recorder: Recorder) -> None:
    async with http_client(make_app(recorder)) as client:
        status, envelope = await post(client, "files/swallow", form(b"x" * (LIMIT + 500)))
    assert (status, envelope["status"]) == (413, "PayloadTooLarge")
    assert [type(error).__name__ for error in recorder.errors] == ["PayloadTooLarge"]


async def test_a_file_of_a_type_not_listed_is_415(recorder: Recorder) -> None:
    async with http_client(make_app(recorder)) as client:
        status, envelope = await post(client, "files/put", form(b"<p>", content_type="text/html", filename="x.html"))
        assert (status, envelope["status"]) == (415, "UnsupportedMediaType")
        assert envelope["error"]["details"]["reason"] == "content_type"
        status, envelope = await post(client, "files/put", form(b"\x89PNG", content_type="image/png", filename="p.png"))
        assert status == 200
        status, envelope = await post(client, "files/raw", b"{}", {"Content-Type": "application/json"})
        assert (status, envelope["status"]) == (415, "UnsupportedMediaType")
    assert recorder.kept() == ["2-p.png"]


async def test_form_fields_are_validated_like_params(recorder: Recorder) -> None:
    async with http_client(make_app(recorder)) as client:
        status, envelope = await post(client, "files/put", form(b"hi", colour="red"))
        assert (status, envelope["status"]) == (400, "ValidationError")
        body = aiohttp.FormData()
        body.add_field("meta", '{"tags": ["a"]}', content_type="application/json")
        body.add_field("file", b"hi", filename="a.txt", content_type="text/plain")
        status, envelope = await post(client, "files/put", body)
    assert (status, envelope["result"]["fields"]) == (200, {"meta": {"tags": ["a"]}})
    assert recorder.calls == 1


async def test_files_past_max_files_are_413(recorder: Recorder) -> None:
    def files(count: int) -> aiohttp.FormData:
        body = aiohttp.FormData()
        for index in range(count):
            body.add_field("file", b"abc", filename=f"{index}.bin", content_type="application/octet-stream")
        return body

    async with http_client(make_app(recorder)) as client:
        status, envelope = await post(client, "files/pair", files(2))
        assert [file["filename"] for file in envelope["result"]["files"]] == ["0.bin", "1.bin"]
        status, envelope = await post(client, "files/pair", files(3))
    assert (status, envelope["error"]["details"]["reason"]) == (413, "files")


async def test_a_json_call_to_an_upload_command_is_415(recorder: Recorder) -> None:
    async with TestApp(make_app(recorder), http=True) as client:
        reply = await client.post("files/put", {"room": "r1"})  # a JSON body is a raw body of a refused type
        assert (reply.status, reply.envelope["error"]["details"]["reason"]) == (415, "content_type")
        in_process = await client.call("files/put", {"room": "r1"})
        assert (in_process["code"], in_process["error"]["details"]["reason"]) == (415, "stream_required")


async def test_an_in_process_call_can_bring_its_upload(recorder: Recorder) -> None:
    async with TestApp(make_app(recorder)) as app:
        upload = Upload.of(b"hello", filename="h.txt", content_type="text/plain", fields={"room": "r9"})
        envelope = await app.call("files/put", upload)
    assert envelope["result"]["fields"] == {"room": "r9"}
    assert (recorder.folder / "1-h.txt").read_bytes() == b"hello"


async def test_an_interrupted_upload_reaches_the_handler_as_an_error_and_nothing_is_kept(recorder: Recorder) -> None:
    async with http_client(make_app(recorder)) as client:
        host, port = client.url.removeprefix("http://").split(":")
        _reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(
            b"POST /api/files/raw HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 900\r\n\r\n"
            + b"p" * 300
        )
        await writer.drain()
        async with asyncio.timeout(5):
            await recorder.started.wait()  # the handler runs and reads what arrived so far
            writer.close()  # the client goes away mid-body
            await recorder.failed.wait()
    assert recorder.errors[0].details == {"reason": "interrupted"}
    assert recorder.kept() == []


async def test_an_upload_is_read_only_once_the_caller_is_allowed(tmp_path: Path) -> None:
    from betrue.server.auth import JwtAuthenticator, use_auth

    recorder = Recorder(tmp_path)
    files = Group("files")

    @files.command("private", stream=StreamSpec(max_size=LIMIT))
    async def private(params: Upload, ctx: Any) -> dict[str, Any]:
        recorder.calls += 1
        return {}

    app = Application("uploads", groups=[files], environ={"JWT_SECRET": "k" * 32}, env_file=None)
    use_auth(app, JwtAuthenticator)
    async with http_client(app) as client:
        status, envelope = await post(client, "files/private", form(b"x" * 10))
    assert (status, envelope["error"]["details"]) == (401, {"reason": "missing"})
    assert recorder.calls == 0


def test_a_stream_command_declares_its_fields_in_the_spec() -> None:
    files = Group("files")

    @files.command("bad", input={"type": "object"}, stream=StreamSpec())
    async def bad(params: Any, ctx: Any) -> None:
        return None

    app = Application("uploads", groups=[files], http=False, environ={}, env_file=None)
    with pytest.raises(ValueError, match=r"StreamSpec\(fields=\.\.\.\)"):
        asyncio.run(app.start())
