"""The ``nats`` service: embedded server without NATS_URL, backoff, readiness, drain at stop, config errors."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from betrue.config import ConfigError
from betrue.nats import NatsAdapter, NatsConnection, NatsTransport, find_nats_server
from betrue.nats.connection import backoff
from betrue.server import Application, Group, ServiceUnavailable

AppFactory = Callable[..., Awaitable[Application]]


def test_reconnect_delays_double_up_to_the_cap_with_jitter() -> None:
    delays = [backoff(attempt, 0.25, 5.0) for attempt in range(10)]
    assert 0.125 <= delays[0] <= 0.25
    assert all(2.5 <= delay <= 5.0 for delay in delays[6:])
    assert len({backoff(3, 0.25, 5.0) for _ in range(20)}) > 1  # jitter: instances do not reconnect in step


async def test_without_nats_url_an_embedded_server_starts_and_stops_with_the_app(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    if find_nats_server() is None:
        pytest.skip("nats-server not found (install betrue[embedded])")
    data = tmp_path / "nats-data"
    environ = {"NATS_EMBEDDED_DIR": str(data), "LOG_LEVEL": "WARNING"}
    app = Application("dev", http=False, environ=environ, env_file=None)
    app.add_service(NatsConnection)
    await app.start()
    connection: NatsConnection = app.service("nats")
    try:
        assert connection.embedded is not None
        process = connection.embedded.process
        assert process is not None
        assert connection.readiness().ready
        stream = await connection.jetstream.add_stream(name="probe", subjects=["probe.>"])
        assert stream.config.name == "probe"  # JetStream is on
        assert (data / "jetstream").is_dir()
    finally:
        await app.stop()
    assert process.poll() is not None, "the embedded server stopped with the app"


async def test_an_unreachable_server_fails_the_start_clearly(tmp_path: Path) -> None:
    app = Application(
        "x",
        http=False,
        environ={"NATS_URL": "nats://127.0.0.1:1", "NATS_START_TIMEOUT": "1", "LOG_LEVEL": "WARNING"},
        env_file=None,
    )
    app.add_service(NatsConnection)
    with pytest.raises(ServiceUnavailable, match=r"cannot connect to NATS at nats://127\.0\.0\.1:1"):
        await app.start()


async def test_bad_config_is_a_config_error() -> None:
    app = Application("x", http=False, environ={"NATS_PREFIX": "a b", "LOG_LEVEL": "WARNING"}, env_file=None)
    app.add_service(NatsConnection)
    with pytest.raises(ConfigError, match="NATS_PREFIX"):
        await app.start()


async def test_stop_answers_the_calls_in_flight(make_app: AppFactory, shared_nats: str, prefix: str) -> None:
    app = await make_app("svc")
    transport = NatsTransport(f"{shared_nats}/svc?prefix={prefix}")
    try:
        calls = [
            asyncio.create_task(transport.call("svc/sleep", {"seconds": 0.3, "n": n}, {}, time.time() + 10))
            for n in range(5)
        ]
        await asyncio.sleep(0.1)  # they are running
        await app.stop(timeout=5)
        answers = await asyncio.gather(*calls)
        assert [answer["code"] for answer in answers] == [200] * 5
        with pytest.raises(ServiceUnavailable):
            await transport.call("svc/sleep", {"n": 9}, {}, time.time() + 2)  # nobody serves it any more
    finally:
        await transport.close()


async def test_past_max_inflight_calls_get_503_at_once(make_app: AppFactory, shared_nats: str, prefix: str) -> None:
    app = await make_app("svc", environ={"NATS_MAX_INFLIGHT": "2"})
    transport = NatsTransport(f"{shared_nats}/svc?prefix={prefix}")
    try:
        started = time.monotonic()
        answers = await asyncio.gather(
            *(transport.call("svc/sleep", {"seconds": 0.5, "n": n}, {}, time.time() + 10) for n in range(6))
        )
        codes = sorted(answer["code"] for answer in answers)
        assert codes == [200, 200, 503, 503, 503, 503]
        assert time.monotonic() - started < 5
        assert app.service("nats-adapter").stats.busy == 4
    finally:
        await transport.close()


def test_a_group_of_nothing_still_serves_builtins() -> None:
    assert Group("x").commands == []


def test_server_urls_get_a_scheme_and_bad_ones_are_config_errors() -> None:
    from betrue.nats import NatsConfig

    config = NatsConfig.load(environ={"NATS_URL": "127.0.0.1:4222, tls://n2:4222"}, env_file=())
    assert config.url == ["nats://127.0.0.1:4222", "tls://n2:4222"]
    with pytest.raises(ConfigError, match="NATS_URL"):
        NatsConfig.load(environ={"NATS_URL": "http://127.0.0.1:4222"}, env_file=())


async def test_a_nats_target_authenticates_as_the_nats_variables_say(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if find_nats_server() is None:
        pytest.skip("nats-server not found (install betrue[embedded])")
    from betrue.nats import EmbeddedNats

    server = EmbeddedNats(tmp_path / "auth", args=("--auth", "s3cret-token"))
    await server.start()
    try:
        environ = {"NATS_URL": server.url, "NATS_TOKEN": "s3cret-token", "NATS_PREFIX": "auth", "LOG_LEVEL": "WARNING"}
        app = Application("svc", groups=[Group("svc")], http=False, environ=environ, env_file=None)
        app.add_service(NatsConnection)
        app.add_service(NatsAdapter)
        await app.start()
        try:
            monkeypatch.delenv("NATS_TOKEN", raising=False)
            anonymous = NatsTransport(f"{server.url}/svc?prefix=auth")
            with pytest.raises(ServiceUnavailable, match=r"connect|Authorization"):
                await anonymous.call("svc/x", {}, {}, time.time() + 3)
            await anonymous.close()
            monkeypatch.setenv("NATS_TOKEN", "s3cret-token")
            authenticated = NatsTransport(f"{server.url}/svc?prefix=auth")
            answer = await authenticated.call("_app/health", {}, {}, time.time() + 5)
            await authenticated.close()
        finally:
            await app.stop()
    finally:
        await server.stop()
    assert answer["code"] == 200
