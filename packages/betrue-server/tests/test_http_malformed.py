"""Hostile input over real HTTP: the malformed-bodies corpus and broken HTTP all get 4xx JSON envelopes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from betrue.server import Application, Context, Group
from betrue.server.testing import TestApp, http_client

SEND = {
    "type": "object",
    "properties": {"room": {"type": "string"}, "text": {"type": "string"}},
    "required": ["room", "text"],
}


def make_app() -> Application:
    chat = Group("chat")

    @chat.command("send", input=SEND)
    async def send(params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        return params

    return Application("malformed", groups=[chat], env_file=None)


@pytest.fixture
async def server() -> AsyncIterator[TestApp]:
    async with http_client(make_app()) as running:
        yield running


async def test_every_malformed_body_gets_a_4xx_envelope(
    server: TestApp, malformed_bodies: list[tuple[str, bytes]]
) -> None:
    assert len(malformed_bodies) >= 40
    answers: dict[str, tuple[int, str]] = {}
    for name, body in malformed_bodies:
        reply = await server.post("chat/send", data=body)
        assert reply.envelope["code"] == reply.status, name
        assert reply.envelope["traceId"] == reply.headers["x-trace-id"], name
        answers[name] = (reply.status, reply.envelope["status"])
    wrong = {name: answer for name, answer in answers.items() if not 400 <= answer[0] < 500}
    assert wrong == {}
    # An empty body means "no params"; the command's schema then rejects the missing fields.
    assert answers["empty"] == (400, "ValidationError")


async def test_the_same_bodies_sent_chunked_get_the_same_answers(
    server: TestApp, malformed_bodies: list[tuple[str, bytes]]
) -> None:
    async with aiohttp.ClientSession() as session:
        for name, body in malformed_bodies:

            async def chunks(data: bytes = body) -> AsyncIterator[bytes]:
                for start in range(0, len(data), 7):
                    yield data[start : start + 7]

            headers = {"Content-Type": "application/json"}
            async with session.post(f"{server.url}/api/chat/send", data=chunks(), headers=headers) as reply:
                assert 400 <= reply.status < 500, name
                assert (await reply.json())["code"] == reply.status, name


RAW_REQUESTS = [
    ("garbage", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"),
    ("bad_request_line", b"HELLO THERE\r\n\r\n"),
    ("bad_version", b"POST /api/chat/send HTTP/9.9\r\nHost: x\r\n\r\n"),
    ("header_without_colon", b"POST /api/chat/send HTTP/1.1\r\nHost x\r\n\r\n"),
    ("huge_header", b"POST /api/chat/send HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n"),
    ("bad_content_length", b"POST /api/chat/send HTTP/1.1\r\nHost: x\r\nContent-Length: ten\r\n\r\n"),
    (
        "two_content_lengths",
        b"POST /api/chat/send HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
    ),
    (
        "bad_chunk_size",
        b"POST /api/chat/send HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
    ),
    (
        "bad_gzip",
        b"POST /api/chat/send HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n"
        b"Content-Length: 10\r\n\r\nnot gzip!!",
    ),
]


@pytest.mark.parametrize(("name", "request_bytes"), RAW_REQUESTS, ids=[name for name, _ in RAW_REQUESTS])
async def test_broken_http_is_a_4xx_json_envelope(server: TestApp, name: str, request_bytes: bytes) -> None:
    host, port = server.url.removeprefix("http://").rsplit(":", 1)
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(request_bytes)
    await writer.drain()
    async with asyncio.timeout(5):
        raw = await reader.read(65536)
        while not raw.endswith(b"}") and (more := await reader.read(65536)):
            raw += more
    writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    assert 400 <= status < 500, head
    envelope = json.loads(body)
    assert envelope["code"] == status
    assert "Traceback" not in body.decode()
