"""``GET /_app/health`` and ``GET /_app/ready``: what a Kubernetes httpGet probe sees."""

from __future__ import annotations

import aiohttp

from betrue.server import Application, Service
from betrue.server.ext import Readiness
from betrue.server.testing import TestApp


class Pool(Service):
    """A stand-in for a database pool that can lose its server."""

    name = "pool"

    def __init__(self) -> None:
        super().__init__()
        self.connected = True

    def readiness(self) -> Readiness:
        return Readiness(self.connected, "connected" if self.connected else "connection refused")


class Broken(Service):
    name = "broken"

    def readiness(self) -> Readiness:
        raise RuntimeError("boom")


async def test_health_is_200_while_serving_and_ready_follows_the_services() -> None:
    app = Application("shop", env_file=None, environ={})
    app.add_service(Pool)
    async with TestApp(app, http=True) as t, aiohttp.ClientSession() as http:
        async with http.get(f"{t.url}/_app/health") as answer:
            assert answer.status == 200
            assert (await answer.json())["result"]["status"] == "alive"
        async with http.get(f"{t.url}/_app/ready") as answer:
            assert answer.status == 200
            body = await answer.json()
            assert body["result"]["services"] == {"pool": {"ready": True, "detail": "connected"}}
        t.service("pool").connected = False
        async with http.get(f"{t.url}/_app/ready") as answer:
            assert answer.status == 503
            error = (await answer.json())["error"]
            assert error["message"] == "not ready: pool"
            assert error["details"]["services"]["pool"] == {"ready": False, "detail": "connection refused"}
        async with http.get(f"{t.url}/_app/health") as answer:
            assert answer.status == 200  # alive all the same: restarting would not bring the database back


async def test_a_readiness_report_that_raises_is_not_ready() -> None:
    app = Application("shop", env_file=None, environ={})
    app.add_service(Broken)
    async with (
        TestApp(app, http=True) as t,
        aiohttp.ClientSession() as http,
        http.get(f"{t.url}/_app/ready") as answer,
    ):
        assert answer.status == 503
        detail = (await answer.json())["error"]["details"]["services"]["broken"]
        assert detail == {"ready": False, "detail": "readiness() raised RuntimeError"}


async def test_ready_is_503_once_stopping_begins() -> None:
    app = Application("shop", env_file=None, environ={})
    async with TestApp(app, http=True) as t, aiohttp.ClientSession() as http:
        app.router._accepting = False  # the state during a graceful stop, before the listener closes
        async with http.get(f"{t.url}/_app/ready") as answer:
            assert answer.status == 503
        app.router._accepting = True


class PoolService(Service):
    """A service whose start hands out something else (the pool): its own readiness is asked."""

    name = "db"

    async def start(self) -> dict[str, str]:
        return {"pool": "the pool"}

    def readiness(self) -> Readiness:
        return Readiness(False, "no connection yet")


async def test_a_service_that_hands_out_another_value_still_reports() -> None:
    app = Application("shop", env_file=None, environ={})
    app.add_service(PoolService)
    async with (
        TestApp(app, http=True) as t,
        aiohttp.ClientSession() as http,
        http.get(f"{t.url}/_app/ready") as answer,
    ):
        assert answer.status == 503
        assert (await answer.json())["error"]["details"]["services"]["db"]["detail"] == "no connection yet"
