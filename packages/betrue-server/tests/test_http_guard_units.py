"""HTTP edges as units and through a live server: the Host allow-list, single-valued headers, secure headers,
rate-limited exhaustion logs, CORS settings, readiness probes, and the fault proxy's less common faults."""

from __future__ import annotations

import asyncio
import errno
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import pytest
from loguru import logger

from betrue.config import ConfigError
from betrue.server import Application, Context, Group, Service
from betrue.server.adapters._exhaustion import (
    RateLimitedLog,
    _handle,
    install_loop_exception_handler,
    is_exhaustion,
)
from betrue.server.adapters._http_guard import DEFAULT_CSP, SINGLE_HEADERS, HostPolicy
from betrue.server.adapters.cors import Cors, CorsConfig
from betrue.server.faultproxy import FaultProxy
from betrue.server.readiness import Readiness, ReportsReadiness
from betrue.server.testing import TestApp

# -- HostPolicy ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "host",
    [
        "localhost",
        "localhost:3000",
        "LOCALHOST:3000",
        "app.localhost",
        "api.app.localhost:8080",
        "127.0.0.1",
        "127.0.0.1:3000",
        "10.1.2.3:80",
        "[::1]",
        "[::1]:3000",
        "intranet-box",
        "localhost.",
    ],
)
def test_local_names_and_addresses_are_served_without_a_list(host: str) -> None:
    assert HostPolicy().allows(host)


@pytest.mark.parametrize(
    "host",
    [
        "evil.example",
        "evil.example:3000",
        "localhost.evil.example",
        "127.0.0.1.nip.io",
        "",
        None,
        "localhost:http",
        "[::1",
        ":3000",
    ],
)
def test_public_names_and_malformed_hosts_are_refused_without_a_list(host: str | None) -> None:
    assert not HostPolicy().allows(host)


def test_listed_names_and_subdomain_patterns() -> None:
    policy = HostPolicy(["App.Example.com ", ".corp.example", "*.svc.example", "  "])
    assert policy.allows("app.example.com")
    assert policy.allows("APP.EXAMPLE.COM:8443")
    assert not policy.allows("www.app.example.com")  # an exact entry has no subdomains
    assert policy.allows("corp.example")
    assert policy.allows("a.b.corp.example")
    assert not policy.allows("evilcorp.example")  # a suffix matches at a dot only
    assert policy.allows("svc.example")
    assert policy.allows("api.svc.example:443")
    assert not policy.allows("example.com")


def test_the_star_serves_any_host_even_none() -> None:
    policy = HostPolicy(["*"])
    assert policy.allows("anything.example")
    assert policy.allows(None)


def test_authorization_and_host_must_be_single_valued() -> None:
    assert {"Authorization", "Host", "Content-Type", "Origin", "x-timeout-ms"} <= set(SINGLE_HEADERS)


# -- through a live server: guard and secure headers ------------------------------------------------


def echo_app(**environ: str) -> Application:
    group = Group("util")

    @group.command("echo", auth="public")
    async def echo(params: Any, ctx: Context) -> dict[str, Any]:
        return dict(params)

    return Application("guarded", groups=[group], env_file=None, environ={"LOG_LEVEL": "CRITICAL", **environ})


@pytest.fixture
async def served() -> AsyncIterator[TestApp]:
    async with TestApp(echo_app(), http=True) as t:
        yield t


async def raw(t: TestApp, request: bytes, wait: float = 10.0) -> bytes:
    host, port = t.url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(request)
        await writer.drain()
        return await asyncio.wait_for(reader.read(), wait)
    finally:
        writer.close()


@pytest.mark.parametrize(
    ("header", "value"),
    [("Origin", b"http://localhost"), ("x-timeout-ms", b"1000"), ("Authorization", b"Bearer abc")],
)
async def test_a_single_valued_header_sent_twice_is_a_400_and_the_connection_closes(
    served: TestApp, header: str, value: bytes
) -> None:
    body = b'{"a": 1}'
    line = b"%s: %s\r\n" % (header.encode(), value)
    request = (
        b"POST /api/util/echo HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        + line
        + line
        + b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
    )
    answer = await raw(served, request)  # read() returns: the server closed the connection
    head = answer.split(b"\r\n\r\n", 1)[0]
    assert b" 400 " in head.split(b"\r\n", 1)[0]
    assert b"duplicate_header" in answer
    assert b'"header":"%s"' % header.encode() in answer


async def test_two_content_types_are_a_400_and_the_command_does_not_run(served: TestApp) -> None:
    body = b'{"a": 1}'
    request = (
        b"POST /api/util/echo HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        b"Content-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
    )
    answer = await raw(served, request)
    assert b" 400 " in answer.split(b"\r\n", 1)[0]
    assert b'"result"' not in answer


async def test_one_of_each_header_is_served(served: TestApp) -> None:
    body = b'{"a": 1}'
    request = (
        b"POST /api/util/echo HTTP/1.1\r\nHost: localhost:1\r\nContent-Type: application/json\r\n"
        b"Origin: http://localhost\r\nx-timeout-ms: 5000\r\nConnection: close\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
    )
    answer = await raw(served, request)
    assert b" 200 " in answer.split(b"\r\n", 1)[0]
    assert b'"result":{"a":1}' in answer


async def test_a_request_without_host_is_refused(served: TestApp) -> None:
    answer = await raw(served, b"GET /_app/health HTTP/1.0\r\n\r\n")
    assert answer.startswith(b"HTTP/1.")
    assert b" 400 " in answer.split(b"\r\n", 1)[0]
    assert b"host_not_allowed" in answer


async def test_json_answers_carry_nosniff_and_the_betrue_banner_but_no_page_policy(served: TestApp) -> None:
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{served.url}/api/util/echo", json={"a": 1}) as answer,
    ):
        assert answer.status == 200
        assert answer.headers["Server"] == "betrue"
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        assert "Content-Security-Policy" not in answer.headers
        assert "X-Frame-Options" not in answer.headers


def test_the_default_page_policy_forbids_inline_scripts_and_framing() -> None:
    directives = dict(part.strip().split(" ", 1) for part in DEFAULT_CSP.split(";"))
    assert directives["script-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["object-src"] == "'none'"


# -- exhaustion logs -------------------------------------------------------------------------------


class Ticks:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def records() -> Iterator[list[dict[str, Any]]]:
    found: list[dict[str, Any]] = []
    sink = logger.add(lambda message: found.append(dict(message.record)), level="DEBUG")
    yield found
    logger.remove(sink)


def test_a_rate_limited_log_writes_once_per_interval_and_counts_the_rest(records: list[dict[str, Any]]) -> None:
    clock = Ticks()
    log = RateLimitedLog(interval=10.0, clock=clock)
    assert log.warning("emfile", "out")
    assert not log.warning("emfile", "out")
    assert not log.warning("emfile", "out")
    assert log.warning("enobufs", "other kind")  # keys are limited apart
    clock.now = 9.9
    assert not log.warning("emfile", "out")
    clock.now = 10.0
    assert log.warning("emfile", "out", errno="EMFILE")
    clock.now = 25.0
    assert log.warning("emfile", "out")
    written = [(r["extra"]["reason"], r["extra"]["suppressed"]) for r in records]
    assert written == [("emfile", 0), ("enobufs", 0), ("emfile", 3), ("emfile", 0)]
    assert records[2]["extra"]["errno"] == "EMFILE"
    assert all(r["level"].name == "WARNING" for r in records)


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (OSError(errno.EMFILE, "Too many open files"), True),
        (OSError(errno.ENFILE, "File table overflow"), True),
        (OSError(errno.ENOBUFS, "No buffer space"), True),
        (OSError(errno.ENOMEM, "Out of memory"), True),
        (OSError(errno.ECONNRESET, "reset"), False),
        (OSError("no errno"), False),
        (MemoryError(), False),
        (None, False),
    ],
)
def test_only_resource_errnos_are_exhaustion(error: BaseException | None, expected: bool) -> None:
    assert is_exhaustion(error) is expected


async def test_the_loop_handler_folds_exhaustion_and_logs_other_errors(
    records: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    from betrue.server.adapters import _exhaustion

    clock = Ticks()  # a limiter of this test's own: the module's one is shared with other tests
    monkeypatch.setattr(_exhaustion, "_exhaustion_log", RateLimitedLog(interval=10.0, clock=clock))
    loop = asyncio.get_running_loop()
    emfile = {"message": "accept failed", "exception": OSError(errno.EMFILE, "Too many open files")}
    for _ in range(3):
        _handle(loop, emfile)
    _handle(loop, {"message": "accept failed", "exception": OSError(errno.ENFILE, "File table overflow")})
    _handle(loop, {"message": "Task exception was never retrieved", "exception": ValueError("x")})
    clock.now = 11.0
    _handle(loop, emfile)
    warnings = [(r["extra"]["errno"], r["extra"]["suppressed"]) for r in records if r["level"].name == "WARNING"]
    errors = [r["message"] for r in records if r["level"].name == "ERROR"]
    assert warnings == [("EMFILE", 0), ("ENFILE", 0), ("EMFILE", 2)]
    assert errors == ["event loop: Task exception was never retrieved"]
    assert "connections are refused until some close" in records[0]["message"]


async def test_installing_the_handler_keeps_one_already_set() -> None:
    loop = asyncio.get_running_loop()
    previous = loop.get_exception_handler()

    def mine(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        return None

    try:
        loop.set_exception_handler(mine)
        install_loop_exception_handler(loop)
        assert loop.get_exception_handler() is mine
        loop.set_exception_handler(None)
        install_loop_exception_handler()
        assert loop.get_exception_handler() is _handle
    finally:
        loop.set_exception_handler(previous)


# -- CORS settings ---------------------------------------------------------------------------------


def test_credentials_with_the_wildcard_origin_is_a_configuration_error() -> None:
    with pytest.raises(ConfigError, match="explicit origins"):
        CorsConfig.from_dict({"origins": ["*"], "credentials": True})


def test_cors_matches_origins_exactly_and_normalises_methods_and_headers() -> None:
    config = CorsConfig.from_dict({"origins": ["https://shop.example"], "methods": ["post"], "headers": ["X-Key"]})
    cors = Cors(config, http=None)
    assert cors.allowed("https://shop.example")
    assert not cors.allowed("https://shop.example:8443")
    assert not cors.allowed("http://shop.example")
    assert not cors.allowed("https://evil.shop.example")
    assert cors.methods == {"POST"}
    assert cors.headers == {"x-key"}
    wildcard = Cors(CorsConfig.from_dict({"origins": ["*"]}), http=None)
    assert wildcard.allowed("https://anyone.example")
    assert wildcard._allow_origin("https://anyone.example") == "*"


async def test_a_preflight_for_a_listed_origin_states_the_policy_and_a_plain_options_is_no_preflight() -> None:
    app = echo_app(CORS_ORIGINS="https://shop.example", CORS_MAX_AGE="42")
    async with TestApp(app, http=True) as t, aiohttp.ClientSession() as http:
        headers = {
            "Origin": "https://shop.example",
            "Access-Control-Request-Method": "post",
            "Access-Control-Request-Headers": "Content-Type, X-Trace-Id",
        }
        async with http.options(f"{t.url}/api/util/echo", headers=headers) as answer:
            assert answer.status == 204
            assert answer.headers["Access-Control-Allow-Origin"] == "https://shop.example"
            assert answer.headers["Access-Control-Max-Age"] == "42"
            assert set(answer.headers["Access-Control-Allow-Methods"].split(", ")) == {"GET", "POST"}
            assert "Access-Control-Expose-Headers" not in answer.headers
            assert "Origin" in answer.headers.getall("Vary")
        refused = {**headers, "Access-Control-Request-Method": "DELETE"}
        async with http.options(f"{t.url}/api/util/echo", headers=refused) as answer:
            assert answer.status == 403
            assert "method DELETE is not allowed" in (await answer.json())["error"]["message"]
        async with http.post(f"{t.url}/api/util/echo", json={}, headers={"Origin": "https://other.example"}) as answer:
            assert answer.status == 200  # served, but the browser gets no permission to read it
            assert "Access-Control-Allow-Origin" not in answer.headers


# -- readiness probes ------------------------------------------------------------------------------


class Database(Service):
    name = "database"

    def __init__(self) -> None:
        super().__init__()
        self.state = Readiness(True, "3 connections")

    def readiness(self) -> Readiness:
        return self.state


class Broker(Service):
    name = "broker"

    def readiness(self) -> Readiness:
        return Readiness(False, "reconnecting")


def test_readiness_is_a_small_value_and_services_are_recognised_by_their_method() -> None:
    assert Readiness(True) == Readiness(True, "")
    assert isinstance(Database(), ReportsReadiness)
    assert not isinstance(object(), ReportsReadiness)
    with pytest.raises(AttributeError):
        Readiness(True).ready = False  # type: ignore[misc]


async def test_ready_names_every_service_not_ready_with_its_detail() -> None:
    app = echo_app()
    app.add_service(Database)
    app.add_service(Broker)
    async with TestApp(app, http=True) as t, aiohttp.ClientSession() as http:
        async with http.get(f"{t.url}/_app/ready") as answer:
            body = await answer.json()
        assert answer.status == 503
        assert body["error"]["details"]["reason"] == "not_ready"
        assert body["error"]["details"]["services"] == {
            "broker": {"ready": False, "detail": "reconnecting"},
            "database": {"ready": True, "detail": "3 connections"},
        }
        assert "broker" in body["error"]["message"]
        assert "database" not in body["error"]["message"]
        async with http.head(f"{t.url}/_app/health") as answer:
            assert answer.status == 200
        async with http.get(f"{t.url}/_app/health", headers={"x-trace-id": "abc123"}) as answer:
            health = await answer.json()
            assert health["result"] == {"status": "alive", "app": "guarded"}
            assert answer.headers["x-trace-id"] == health["traceId"]


async def test_ready_turns_200_when_the_service_recovers() -> None:
    app = echo_app()
    app.add_service(Database)
    async with TestApp(app, http=True) as t, aiohttp.ClientSession() as http:
        database: Database = t.service("database")
        database.state = Readiness(False, "connection refused")
        async with http.get(f"{t.url}/_app/ready") as answer:
            assert answer.status == 503
        database.state = Readiness(True, "back")
        async with http.head(f"{t.url}/_app/ready") as answer:
            assert answer.status == 200
        async with http.get(f"{t.url}/_app/ready") as answer:
            body = await answer.json()
            assert body["result"]["services"] == {"database": {"ready": True, "detail": "back"}}


# -- fault proxy -----------------------------------------------------------------------------------


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


@pytest.fixture
async def echo_port() -> AsyncIterator[int]:
    server = await asyncio.start_server(_echo, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()


async def test_clear_removes_every_fault_on_an_open_connection(echo_port: int) -> None:
    async with FaultProxy("127.0.0.1", echo_port) as proxy:
        proxy.blackhole = True
        proxy.latency = 5.0
        proxy.bandwidth = 1
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
        writer.write(b"lost")
        await writer.drain()
        await asyncio.sleep(0.05)
        proxy.clear()
        assert proxy.bandwidth is None
        assert (proxy.latency, proxy.blackhole, proxy.refuse, proxy.drop) == (0.0, False, False, 0.0)
        writer.write(b"kept")
        await writer.drain()
        assert await asyncio.wait_for(reader.readexactly(4), 10) == b"kept"
        assert proxy.open == 1
        writer.close()


async def test_an_unreachable_upstream_resets_the_client(echo_port: int) -> None:
    probe = await asyncio.start_server(_echo, "127.0.0.1", 0)
    dead_port = probe.sockets[0].getsockname()[1]
    probe.close()
    await probe.wait_closed()
    async with FaultProxy("127.0.0.1", dead_port) as proxy:
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
        writer.write(b"hello")
        with pytest.raises((ConnectionError, asyncio.IncompleteReadError)):
            await asyncio.wait_for(reader.readexactly(1), 10)
        writer.close()
        assert proxy.connections == 1
        assert proxy.open == 0


async def test_a_half_close_is_passed_on_and_the_answer_still_comes_back(echo_port: int) -> None:
    async with FaultProxy("127.0.0.1", echo_port) as proxy:
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
        writer.write(b"all of it")
        writer.write_eof()
        assert await asyncio.wait_for(reader.read(), 10) == b"all of it"
        writer.close()


async def test_stop_closes_open_connections_and_stops_listening(echo_port: int) -> None:
    proxy = await FaultProxy("127.0.0.1", echo_port).start()
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    writer.write(b"x")
    assert await asyncio.wait_for(reader.readexactly(1), 10) == b"x"
    assert proxy.open == 1
    await asyncio.wait_for(proxy.stop(), 10)
    assert proxy.open == 0
    with pytest.raises((ConnectionError, asyncio.IncompleteReadError)):
        await asyncio.wait_for(reader.readexactly(1), 10)
    writer.close()
    with pytest.raises(ConnectionRefusedError):
        await asyncio.open_connection("127.0.0.1", proxy.port)


async def test_drop_is_a_seeded_chance_per_connection(echo_port: int) -> None:
    async with FaultProxy("127.0.0.1", echo_port, seed=7) as proxy:
        proxy.drop = 0.5
        outcomes = []
        for _ in range(12):
            reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
            writer.write(b"?")
            try:
                outcomes.append(await asyncio.wait_for(reader.read(1), 10) == b"?")
            except ConnectionError:
                outcomes.append(False)
            writer.close()
        assert proxy.connections == 12
        assert 0 < sum(outcomes) < 12
