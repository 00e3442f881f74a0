"""Metrics: per command and per client target, through the OpenTelemetry API, on a Prometheus text endpoint."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from betrue.server import Application, Context, Group, NotFound
from betrue.server.testing import TestApp


def shop_app(gate: asyncio.Event, environ: dict[str, str], entered: asyncio.Event | None = None) -> Application:
    shop = Group("shop")

    @shop.command("buy")
    async def buy(params: dict[str, Any], ctx: Context) -> dict[str, bool]:
        if params.get("sold_out"):
            raise NotFound("sold out")
        return {"ok": True}

    @shop.command("wait")
    async def wait(params: dict[str, Any], ctx: Context) -> None:
        if entered is not None:
            entered.set()
        await gate.wait()

    @shop.command("fetch", idempotent=True)
    async def fetch(params: dict[str, Any], ctx: Context) -> Any:
        return await ctx.client.call("remote/read", {})

    return Application("shop", groups=[shop], env_file=None, environ=environ)


async def scrape(url: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    async with aiohttp.ClientSession() as session, session.get(url) as reply:
        assert reply.status == 200
        assert reply.headers["Content-Type"].startswith("text/plain")
        text = await reply.text()
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = {k: v for k, v in sample.labels.items() if not k.startswith("otel_scope")}
            samples[(sample.name, frozenset(labels.items()))] = sample.value
    return samples


def sample(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_metrics_show_calls_errors_durations_in_flight_and_client_targets() -> None:
    gate, entered = asyncio.Event(), asyncio.Event()
    down = f"http://127.0.0.1:{closed_port()}"
    environ = {"METRICS_ENABLED": "true", "ROUTES": f"remote={down}", "CLIENT_RETRIES": "2"}
    environ["CLIENT_RETRY_BACKOFF"] = "0.001"
    environ["CLIENT_POLICIES"] = "remote.idempotent=true"
    async with TestApp(shop_app(gate, environ, entered), http=True) as shop:
        for _ in range(3):
            await shop.post("shop/buy", {})
        await shop.post("shop/buy", {"sold_out": True})
        await shop.post("shop/fetch", {})
        waiting = asyncio.create_task(shop.post("shop/wait", {}))
        async with asyncio.timeout(5):
            await entered.wait()
        busy = await scrape(f"{shop.url}/metrics")
        gate.set()
        await waiting
        samples = await scrape(f"{shop.url}/metrics")
    assert sample(samples, "betrue_server_calls_total", command="shop/buy", status="Success") == 3
    assert sample(samples, "betrue_server_calls_total", command="shop/buy", status="NotFound") == 1
    assert sample(samples, "betrue_server_errors_total", command="shop/buy", status="NotFound") == 1
    assert sample(samples, "betrue_server_errors_total", command="shop/buy", status="Success") == 0
    assert sample(samples, "betrue_server_duration_seconds_count", command="shop/buy") == 4
    assert sample(busy, "betrue_server_in_flight", command="shop/wait") == 1
    assert sample(samples, "betrue_server_in_flight", command="shop/wait") == 0
    client = {"target": down, "command": "remote/read"}
    assert sample(samples, "betrue_client_calls_total", status="ServiceUnavailable", **client) == 1
    assert sample(samples, "betrue_client_errors_total", status="ServiceUnavailable", **client) == 1
    assert sample(samples, "betrue_client_retries_total", **client) == 2
    assert sample(samples, "betrue_client_duration_seconds_count", **client) == 1


async def test_the_metrics_endpoint_is_off_by_default_and_its_path_configurable() -> None:
    gate = asyncio.Event()
    async with (
        TestApp(shop_app(gate, {}), http=True) as off,
        aiohttp.ClientSession() as session,
        session.get(f"{off.url}/metrics") as reply,
    ):
        assert reply.status == 404
    environ = {"METRICS_ENABLED": "true", "METRICS_PATH": "/internal/metrics"}
    async with TestApp(shop_app(gate, environ), http=True) as moved:
        await moved.post("shop/buy", {})
        samples = await scrape(f"{moved.url}/internal/metrics")
    assert sample(samples, "betrue_server_calls_total", command="shop/buy", status="Success") == 1


async def test_each_app_shows_its_own_series() -> None:
    gate = asyncio.Event()
    environ = {"METRICS_ENABLED": "true"}
    async with TestApp(shop_app(gate, environ), http=True) as first, TestApp(shop_app(gate, environ), http=True) as two:
        await first.post("shop/buy", {})
        samples = await scrape(f"{two.url}/metrics")
    assert sample(samples, "betrue_server_calls_total", command="shop/buy", status="Success") == 0


async def test_metrics_need_the_http_adapter() -> None:
    app = Application("headless", http=False, env_file=None, environ={"METRICS_ENABLED": "true"})
    with pytest.raises(RuntimeError, match="METRICS_ENABLED needs the HTTP adapter"):
        await app.start()
