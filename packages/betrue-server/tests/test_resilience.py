"""Fault tolerance against real flaky upstreams: retries, timeout, circuit breaker and bulkhead."""

from __future__ import annotations

import asyncio
import socket
import time
from collections import Counter
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from betrue.server import (
    Application,
    Context,
    GatewayTimeout,
    Group,
    ServiceUnavailable,
    TooManyRequests,
)
from betrue.server.client._breaker import CircuitBreaker
from betrue.server.client._resilience import parse_policies
from betrue.server.testing import TestApp


class Flaky:
    """An upstream whose commands fail ``fail`` times with 503, hang on demand, and count what they run."""

    def __init__(self) -> None:
        self.runs: Counter[str] = Counter()
        self.running = 0
        self.most_running = 0
        self.release = asyncio.Event()
        self.changed = asyncio.Condition()
        group = Group("flaky")

        @group.command("read", idempotent=True)
        async def read(params: dict[str, Any], ctx: Context) -> dict[str, int]:
            return self._answer("read", params)

        @group.command("write")
        async def write(params: dict[str, Any], ctx: Context) -> dict[str, int]:
            return self._answer("write", params)

        @group.command("hang", idempotent=True)
        async def hang(params: dict[str, Any], ctx: Context) -> None:
            await asyncio.sleep(30)

        @group.command("wait")
        async def wait(params: dict[str, Any], ctx: Context) -> dict[str, int]:
            self.running += 1
            self.most_running = max(self.most_running, self.running)
            async with self.changed:
                self.changed.notify_all()
            try:
                await self.release.wait()
            finally:
                self.running -= 1
            return {"ok": 1}

        self.group = group

    async def until_running(self, count: int) -> None:
        async with asyncio.timeout(5), self.changed:
            await self.changed.wait_for(lambda: self.running >= count)

    def _answer(self, name: str, params: dict[str, Any]) -> dict[str, int]:
        self.runs[name] += 1
        if self.runs[name] <= params.get("fail", 0):
            raise ServiceUnavailable("not now")
        return {"runs": self.runs[name]}

    def app(self, environ: dict[str, str] | None = None) -> Application:
        return Application("flaky", groups=[self.group], env_file=None, environ=environ or {})


def caller(url: str, **settings: str) -> tuple[Application, InMemoryMetricReader]:
    environ = {"ROUTES": f"flaky={url}", "CLIENT_RETRY_BACKOFF": "0.001", **settings}
    app = Application("caller", env_file=None, environ=environ)
    reader = InMemoryMetricReader()
    app.telemetry.use(meter_provider=MeterProvider(metric_readers=[reader]))
    return app, reader


def counted(reader: InMemoryMetricReader, name: str, **labels: str) -> float:
    data = reader.get_metrics_data()
    total = 0.0
    for resource in data.resource_metrics if data is not None else ():
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                if metric.name == name:
                    for point in metric.data.data_points:
                        if all((point.attributes or {}).get(k) == v for k, v in labels.items()):
                            total += point.value  # type: ignore[union-attr]
    return total


def state_of(breaker: CircuitBreaker) -> str:
    return breaker.state


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_retries_repeat_idempotent_commands_only_and_are_counted() -> None:
    flaky = Flaky()
    async with TestApp(flaky.app(), http=True) as upstream:
        app, reader = caller(upstream.url, CLIENT_RETRIES="3")
        async with TestApp(app):
            assert await app.client.call("flaky/read", {"fail": 2}) == {"runs": 3}
            with pytest.raises(ServiceUnavailable):
                await app.client.call("flaky/write", {"fail": 2})
            assert await app.client.call("flaky/write", {"fail": 2}, idempotent=True) == {"runs": 3}
    assert flaky.runs == {"read": 3, "write": 3}
    assert counted(reader, "betrue.client.retries", command="flaky/read") == 2
    assert counted(reader, "betrue.client.retries", command="flaky/write") == 1
    assert counted(reader, "betrue.client.errors", command="flaky/write", status="ServiceUnavailable") == 1


async def test_retries_stop_after_the_policy_retries() -> None:
    flaky = Flaky()
    async with TestApp(flaky.app(), http=True) as upstream:
        app, _ = caller(upstream.url, CLIENT_POLICIES="flaky.retries=1")
        async with TestApp(app):
            with pytest.raises(ServiceUnavailable):
                await app.client.call("flaky/read", {"fail": 5})
    assert flaky.runs["read"] == 2


async def test_a_hanging_upstream_answers_504_within_the_timeout_retries_included() -> None:
    flaky = Flaky()
    async with TestApp(flaky.app(), http=True) as upstream:
        app, reader = caller(upstream.url, CLIENT_TIMEOUT="0.3", CLIENT_RETRIES="5")
        async with TestApp(app):
            started = time.monotonic()
            with pytest.raises(GatewayTimeout):
                await app.client.call("flaky/hang", {})
            took = time.monotonic() - started
    assert 0.25 < took < 1.5
    assert counted(reader, "betrue.client.retries") == 0  # nothing left of the budget to retry with


async def test_the_breaker_opens_on_a_down_upstream_and_closes_when_it_is_back() -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    app, _ = caller(url, CLIENT_BREAKER_FAILURES="3", CLIENT_BREAKER_RESET="0.2", CLIENT_RETRIES="0")
    async with TestApp(app):
        for _ in range(3):
            with pytest.raises(ServiceUnavailable) as down:
                await app.client.call("flaky/read", {})
            assert down.value.details["reason"] == "connect"
        with pytest.raises(ServiceUnavailable) as held:
            await app.client.call("flaky/read", {})
        assert held.value.details["reason"] == "circuit_open"
        breaker = app.client.breakers.by_target[url]
        assert state_of(breaker) == "open"
        upstream = Flaky().app({"HTTP_PORT": str(port)})  # the upstream comes up where it was expected
        await upstream.start()
        try:
            await asyncio.sleep(0.25)  # the breaker's reset time is the behaviour under test
            assert await app.client.call("flaky/read", {}) == {"runs": 1}  # the half-open probe
            assert state_of(breaker) == "closed"
            assert await app.client.call("flaky/read", {}) == {"runs": 2}
        finally:
            await upstream.stop()


async def test_a_failed_probe_opens_the_breaker_again() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    app, _ = caller(url, CLIENT_BREAKER_FAILURES="1", CLIENT_BREAKER_RESET="0.1", CLIENT_RETRIES="0")
    async with TestApp(app):
        with pytest.raises(ServiceUnavailable):
            await app.client.call("flaky/read", {})
        breaker = app.client.breakers.by_target[url]
        opened = breaker.opened_at
        await asyncio.sleep(0.15)
        with pytest.raises(ServiceUnavailable) as probe:
            await app.client.call("flaky/read", {})
        assert probe.value.details["reason"] == "connect"
        assert state_of(breaker) == "open"
        assert breaker.opened_at > opened


async def test_the_bulkhead_holds_under_100_concurrent_calls() -> None:
    flaky = Flaky()
    async with TestApp(flaky.app(), http=True) as upstream:
        app, reader = caller(upstream.url, CLIENT_BULKHEAD="5", CLIENT_BULKHEAD_QUEUE="20", CLIENT_RETRIES="0")
        async with TestApp(app):
            calls = [asyncio.create_task(app.client.call("flaky/wait", {})) for _ in range(100)]
            await flaky.until_running(5)
            rejected = [call for call in calls if call.done()]
            flaky.release.set()
            outcomes = await asyncio.gather(*calls, return_exceptions=True)
    assert len(rejected) == 75
    assert all(isinstance(call.exception(), TooManyRequests) for call in rejected)
    assert sum(outcome == {"ok": 1} for outcome in outcomes) == 25
    assert flaky.most_running == 5
    assert counted(reader, "betrue.client.errors", status="TooManyRequests") == 75


async def test_a_command_scoped_bulkhead_leaves_other_commands_alone() -> None:
    flaky = Flaky()
    async with TestApp(flaky.app(), http=True) as upstream:
        settings = {"CLIENT_POLICIES": "flaky.bulkhead=1,flaky.bulkhead_scope=command"}
        app, _ = caller(upstream.url, **settings)
        async with TestApp(app):
            waiting = asyncio.create_task(app.client.call("flaky/wait", {}))
            await flaky.until_running(1)
            with pytest.raises(TooManyRequests):
                await app.client.call("flaky/wait", {})
            assert await app.client.call("flaky/read", {}) == {"runs": 1}
            flaky.release.set()
            assert await waiting == {"ok": 1}


def test_policies_parse_per_group_and_reject_nonsense() -> None:
    assert parse_policies("game.timeout=none, game.idempotent=true, chat.bulkhead_scope=command") == {
        "game": {"timeout": None, "idempotent": True},
        "chat": {"bulkhead_scope": "command"},
    }
    for bad in ("game.speed=1", "retries=1", "game.retries=-1", "game.bulkhead_scope=room", "game.idempotent=maybe"):
        with pytest.raises(ValueError, match=r"."):
            parse_policies(bad)
