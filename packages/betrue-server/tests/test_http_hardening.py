"""Issue 17, the framework's points: each test failed before the fix and holds after it (raw sockets)."""

from __future__ import annotations

import asyncio
import gzip
import json
import re
import time
import zlib
from collections.abc import AsyncIterator
from typing import Any

import pytest

from betrue.server import (
    Application,
    Context,
    Group,
    JwtAuthenticator,
    StreamSpec,
    Upload,
    openapi_document,
    use_auth,
)
from betrue.server.testing import TestApp

SECRET = "s" * 32
demo = Group("demo")


@demo.command("echo", input={"type": "object"}, auth="public")
async def echo(params: dict[str, Any], ctx: Context) -> dict[str, Any]:
    return {"params": params}


@demo.command("nap", input={"type": "object", "properties": {"seconds": {"type": "number"}}}, auth="public")
async def nap(params: dict[str, Any], ctx: Context) -> dict[str, Any]:
    await asyncio.sleep(params.get("seconds", 0.2))
    return {"rested": True}


@demo.command("put", stream=StreamSpec(max_size=1024, content_types=["text/plain"], mode="multipart"))
async def put(params: Upload, ctx: Context) -> dict[str, Any]:
    file = await params.file()
    return {"size": len(await file.read())}


@demo.command("socket", transports=["ws"], auth="public")
async def socket_only(params: dict[str, Any], ctx: Context) -> dict[str, Any]:
    return {}


def make_app() -> Application:
    app = Application("hard", groups=[demo], environ={"JWT_SECRET": SECRET}, env_file=None)
    use_auth(app, JwtAuthenticator)
    return app


@pytest.fixture
async def server() -> AsyncIterator[TestApp]:
    env = {"HTTP_IDLE_TIMEOUT": "0.5", "HTTP_MAX_CONNECTIONS": "20", "LOG_LEVEL": "WARNING", "SHUTDOWN_TIMEOUT": "1"}
    async with TestApp(make_app(), http=True, env=env) as client:
        yield client


def port_of(server: TestApp) -> int:
    port: int = server.app.service("http").port
    return port


async def exchange(port: int, data: bytes, *, wait: float = 3.0) -> bytes:
    """Write ``data``, read until the server closes (or ``wait`` passes: then ``<<HUNG>>`` is appended)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    received = b""
    try:
        async with asyncio.timeout(wait):
            while chunk := await reader.read(65536):
                received += chunk
    except TimeoutError:
        received += b"<<HUNG>>"
    except ConnectionError:
        received += b"<<RESET>>"
    writer.close()
    return received


def statuses(raw: bytes) -> list[int]:
    """The status of each answer in ``raw`` (answers follow each other with no separator)."""
    return [int(status) for status in re.findall(rb"HTTP/1\.[01] (\d{3}) ", raw)]


def envelope_of(raw: bytes) -> dict[str, Any]:
    body = raw.split(b"\r\n\r\n", 1)[1]
    decoded: dict[str, Any] = json.loads(body)
    return decoded


def post(path: str, body: bytes, *headers: str, keep: bool = False) -> bytes:
    """A raw POST; it asks the server to close after answering unless ``keep``."""
    head = "".join(f"{header}\r\n" for header in (*headers, *(() if keep else ("Connection: close",))))
    return f"POST /api/{path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{head}Content-Length: {len(body)}\r\n\r\n".encode() + body


JSON = "Content-Type: application/json"


# -- 1. idle connections, the cap, resource exhaustion ---------------------------------------------


async def test_a_connection_that_never_sends_a_byte_is_closed_after_the_idle_timeout(server: TestApp) -> None:
    started = time.monotonic()
    raw = await exchange(port_of(server), b"", wait=5)
    assert raw == b""  # closed without an answer: nothing was asked
    assert time.monotonic() - started < 3


async def test_past_the_connection_cap_the_longest_idle_connection_makes_room(server: TestApp) -> None:
    port = port_of(server)
    idle = [await asyncio.open_connection("127.0.0.1", port) for _ in range(40)]
    try:
        raw = await exchange(port, post("demo/echo", b"{}", JSON))
        assert statuses(raw) == [200]
        open_now = len(server.app.service("http").runner.server.connections)
        assert open_now <= 21
    finally:
        for _, writer in idle:
            writer.close()


async def test_when_every_connection_is_busy_a_new_one_gets_503_with_retry_after() -> None:
    env = {"HTTP_MAX_CONNECTIONS": "2", "LOG_LEVEL": "WARNING"}
    async with TestApp(make_app(), http=True, env=env) as server:
        port = port_of(server)
        busy = [asyncio.create_task(exchange(port, post("demo/nap", b'{"seconds": 1.5}', JSON))) for _ in range(2)]
        await asyncio.sleep(0.5)
        raw = await exchange(port, post("demo/echo", b"{}", JSON))
        await asyncio.gather(*busy)
    assert statuses(raw) == [503]
    assert b"Retry-After: 1\r\n" in raw
    assert envelope_of(raw)["error"]["details"]["reason"] == "connections"


def test_exhaustion_is_logged_once_per_interval_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    from betrue.server.adapters._exhaustion import RateLimitedLog, install_loop_exception_handler
    from betrue.server.appconfig import AppConfig
    from betrue.server.observability._logging import setup_logging

    setup_logging(AppConfig())
    loop = asyncio.new_event_loop()
    try:
        install_loop_exception_handler(loop)
        for _ in range(5000):
            loop.call_exception_handler(
                {"message": "socket.accept() out of system resource", "exception": OSError(24, "Too many open files")}
            )
    finally:
        loop.close()
    lines = [line for line in capsys.readouterr().err.splitlines() if "EMFILE" in line]
    assert len(lines) == 1
    assert json.loads(lines[0])["level"] == "WARNING"
    log = RateLimitedLog(interval=10.0, clock=lambda: 0.0)
    assert log.warning("k", "first") is True
    assert log.warning("k", "again") is False


# -- 4. bodies that must not be accepted ----------------------------------------------------------


def multipart(*files: tuple[str, bytes], close: bool = True) -> tuple[str, bytes]:
    boundary = "XyZ"
    parts = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
        f"Content-Type: text/plain\r\n\r\n".encode()
        + data
        + b"\r\n"
        for name, data in files
    )
    return f"Content-Type: multipart/form-data; boundary={boundary}", parts + (
        f"--{boundary}--\r\n".encode() if close else b""
    )


def bearer() -> str:
    from betrue.server.auth.jwt import issue_token

    return f"Authorization: Bearer {issue_token(SECRET, 'ann')}"


async def test_a_multipart_body_without_its_closing_boundary_is_a_400(server: TestApp) -> None:
    kind, body = multipart(("a.txt", b"hello"), close=False)
    raw = await exchange(port_of(server), post("demo/put", body, kind, bearer()))
    assert statuses(raw) == [400]
    assert envelope_of(raw)["error"]["details"]["reason"] == "truncated"
    kind, body = multipart(("a.txt", b"hello"))
    assert statuses(await exchange(port_of(server), post("demo/put", body, kind, bearer()))) == [200]


async def test_a_second_file_past_max_files_is_a_413_not_ignored(server: TestApp) -> None:
    kind, body = multipart(("a.txt", b"one"), ("b.txt", b"two"))
    raw = await exchange(port_of(server), post("demo/put", body, kind, bearer()))
    assert statuses(raw) == [413]
    assert envelope_of(raw)["error"]["details"]["reason"] == "files"


@pytest.mark.parametrize(
    ("encoding", "body", "status"),
    [
        ("gzip", gzip.compress(b'{"a": 1}')[:-8], 400),  # no CRC/size trailer
        ("gzip", gzip.compress(b'{"a": 1}') + b"junk", 400),
        ("deflate", zlib.compress(b'{"a": 1}')[:-2], 400),
        ("x-bogus", b'{"a": 1}', 415),
        ("compress", b'{"a": 1}', 415),
        ("zstd", b'{"a": 1}', 415),
        ("gzip, gzip", gzip.compress(gzip.compress(b"{}")), 415),
        ("gzip", gzip.compress(b'{"a": 1}'), 200),
    ],
)
async def test_a_body_is_read_only_in_a_content_encoding_that_is_known_and_whole(
    server: TestApp, encoding: str, body: bytes, status: int
) -> None:
    raw = await exchange(port_of(server), post("demo/echo", body, JSON, f"Content-Encoding: {encoding}"))
    assert statuses(raw) == [status]
    assert b"zstd" not in raw.split(b"\r\n\r\n", 1)[1]
    assert b"backports" not in raw


# -- 5, 6. authorization before the body; one Authorization header ---------------------------------


async def test_an_anonymous_upload_with_expect_100_continue_is_refused_before_its_body(server: TestApp) -> None:
    kind, body = multipart(("a.txt", b"hello"))
    head = post("demo/put", b"", kind, "Expect: 100-continue", keep=True).replace(
        b"Content-Length: 0", f"Content-Length: {len(body)}".encode()
    )
    raw = await exchange(port_of(server), head)
    assert b"100 Continue" not in raw
    assert statuses(raw) == [401]
    authorized = await exchange(port_of(server), head.replace(b"Expect:", bearer().encode() + b"\r\nExpect:"), wait=1)
    assert b"HTTP/1.1 100 Continue" in authorized


async def test_two_authorization_headers_are_a_400_whatever_their_order(server: TestApp) -> None:
    kind, body = multipart(("a.txt", b"hello"))
    good, bad = bearer(), "Authorization: Bearer nonsense"
    for first, second in ((bad, good), (good, bad)):
        raw = await exchange(port_of(server), post("demo/put", body, kind, first, second))
        assert statuses(raw) == [400]
        assert envelope_of(raw)["error"]["details"] == {"reason": "duplicate_header", "header": "Authorization"}


# -- 7. pipelining --------------------------------------------------------------------------------


async def test_a_malformed_request_pipelined_after_a_valid_one_gets_its_400_after_the_200(server: TestApp) -> None:
    raw = await exchange(port_of(server), post("demo/echo", b"{}", JSON, keep=True) + b"GARBAGE\x01 / HTTP/1.1\r\n\r\n")
    assert statuses(raw) == [200, 400]


# -- 3, 11. no server failure reported for a client's input, no internals echoed -------------------


async def test_parser_errors_echo_nothing_and_no_banner_is_sent(server: TestApp) -> None:
    raw = await exchange(port_of(server), b"GARBAGE /secret-token-123\x01 HTTP/1.1\r\n\r\n")
    assert statuses(raw) == [400]
    assert b"secret-token-123" not in raw
    assert b"GARBAGE" not in raw
    assert envelope_of(raw)["error"] == {"message": "Malformed HTTP request", "details": {"reason": "bad_http_method"}}
    ok = await exchange(port_of(server), post("demo/echo", b"{}", JSON))
    for answer in (raw, ok):
        assert b"aiohttp" not in answer
        assert b"Python" not in answer
        assert b"\r\nServer: betrue\r\n" in answer


async def test_x_timeout_ms_of_zero_or_less_is_a_400_over_http(server: TestApp) -> None:
    for value in ("0", "-1"):
        raw = await exchange(port_of(server), post("demo/echo", b"{}", JSON, f"x-timeout-ms: {value}"))
        assert statuses(raw) == [400]


# -- 10. Host allow-list (DNS rebinding) ----------------------------------------------------------


async def test_a_host_name_not_allowed_is_refused_even_with_a_matching_origin(server: TestApp) -> None:
    port = port_of(server)
    rebound = (
        f"POST /api/demo/echo HTTP/1.1\r\nHost: evil.example:{port}\r\nOrigin: http://evil.example:{port}\r\n"
        f"{JSON}\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{{}}"
    ).encode()
    raw = await exchange(port, rebound)
    assert statuses(raw) == [400]
    assert envelope_of(raw)["error"]["details"]["reason"] == "host_not_allowed"
    for host in ("localhost", f"127.0.0.1:{port}", "[::1]", "app.localhost", "intranet"):
        named = rebound.replace(f"evil.example:{port}".encode(), host.encode(), 1)
        assert statuses(await exchange(port, named)) == [200]


async def test_listed_host_names_are_served() -> None:
    env = {"HTTP_ALLOWED_HOSTS": "app.example.com,.example.org", "LOG_LEVEL": "WARNING"}
    async with TestApp(make_app(), http=True, env=env) as server:
        port = port_of(server)
        for host, status in (("app.example.com", 200), ("a.b.example.org", 200), ("example.net", 400)):
            raw = await exchange(
                port,
                post("demo/echo", b"{}", JSON).replace(b"Host: 127.0.0.1", f"Host: {host}".encode()),
            )
            assert statuses(raw) == [status], host


# -- 8. shutdown ----------------------------------------------------------------------------------


async def test_a_call_overrunning_the_shutdown_grace_is_answered_503_and_stop_takes_the_grace_once() -> None:
    app = make_app()
    env = {"SHUTDOWN_TIMEOUT": "1", "LOG_LEVEL": "WARNING"}
    async with TestApp(app, http=True, env=env) as server:
        port = port_of(server)
        call = asyncio.create_task(exchange(port, post("demo/nap", b'{"seconds": 30}', JSON), wait=10))
        await asyncio.sleep(0.3)
        started = time.monotonic()
        await app.stop()
        took = time.monotonic() - started
        raw = await call
    assert took < 2.5  # before: twice SHUTDOWN_TIMEOUT and no answer
    assert statuses(raw) == [503]
    assert envelope_of(raw)["error"]["details"]["reason"] == "shutdown"
    assert b"Connection: close" in raw


async def test_requests_on_keep_alive_connections_during_stop_all_get_an_answer() -> None:
    app = make_app()
    answered: list[int] = []
    unanswered = 0

    async def client(port: int) -> None:
        nonlocal unanswered
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            return
        try:
            for _ in range(500):
                writer.write(post("demo/echo", b"{}", JSON, keep=True))
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0])
                await reader.readexactly(length)
                answered.append(int(head.split()[1]))
                if b"Connection: close" in head:
                    return
        except (asyncio.IncompleteReadError, ConnectionError):
            unanswered += 1  # a request written, the connection closed without its answer
        finally:
            writer.close()

    async with TestApp(app, http=True, env={"LOG_LEVEL": "WARNING"}) as server:
        clients = [asyncio.create_task(client(port_of(server))) for _ in range(10)]
        await asyncio.sleep(0.3)
        await app.stop()
        await asyncio.wait_for(asyncio.gather(*clients), 20)
    assert unanswered == 0
    assert set(answered) <= {200, 503}
    assert 200 in answered


# -- 12. what the spec says is what is served -----------------------------------------------------


async def test_a_command_not_served_over_http_is_404_there_and_absent_from_openapi(server: TestApp) -> None:
    reply = await server.post("demo/socket", {})
    assert reply.status == 404
    assert reply.envelope["error"]["details"] == {"reason": "transport", "transports": ["ws"]}
    assert "/api/demo/socket" not in openapi_document(server.app)["paths"]


def test_the_openapi_schemas_state_the_decoder_limits() -> None:
    group = Group("lim")

    @group.command("x", input={"type": "object", "properties": {"n": {"type": "integer"}, "s": {"type": "string"}}})
    async def handler(params: dict[str, Any], ctx: Context) -> None:
        return None

    document = openapi_document(Application("lim", groups=[group], http=False))
    schema = document["paths"]["/api/lim/x"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    assert schema["properties"]["n"]["maximum"] == 2**63 - 1
    assert schema["properties"]["n"]["minimum"] == -(2**63)
    assert schema["properties"]["s"]["pattern"] == "^[^\\u0000]*$"
