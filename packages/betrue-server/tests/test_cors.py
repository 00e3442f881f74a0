"""CORS: off by default; an allow-list of origins, methods and headers; preflights; the credentials option."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from betrue.config import ConfigError
from betrue.server import Application, Context, Group
from betrue.server.adapters.cors import CorsConfig
from betrue.server.testing import TestApp

SITE = "https://shop.example.com"
EVIL = "https://evil.example.net"


def shop_app(**environ: str) -> Application:
    shop = Group("shop")

    @shop.command("buy", input={"type": "object"})
    async def buy(params: dict[str, Any], ctx: Context) -> str:
        return "bought"

    return Application("shop", groups=[shop], env_file=None, environ=environ)


def preflight(origin: str, method: str = "POST", headers: str = "content-type") -> dict[str, str]:
    return {"Origin": origin, "Access-Control-Request-Method": method, "Access-Control-Request-Headers": headers}


async def test_cors_is_off_by_default() -> None:
    async with TestApp(shop_app(), http=True) as t, aiohttp.ClientSession() as http:
        async with http.options(f"{t.url}/api/shop/buy", headers=preflight(SITE)) as answer:
            assert "Access-Control-Allow-Origin" not in answer.headers
            assert answer.status == 405  # commands answer POST only; nothing grants the browser a cross-origin call
        async with http.post(f"{t.url}/api/shop/buy", json={}, headers={"Origin": SITE}) as answer:
            assert answer.status == 200
            assert "Access-Control-Allow-Origin" not in answer.headers


async def test_a_listed_origin_gets_its_preflight_and_the_headers_on_answers() -> None:
    async with TestApp(shop_app(CORS_ORIGINS=SITE), http=True) as t, aiohttp.ClientSession() as http:
        async with http.options(f"{t.url}/api/shop/buy", headers=preflight(SITE)) as answer:
            assert answer.status == 204
            assert answer.headers["Access-Control-Allow-Origin"] == SITE
            assert "POST" in answer.headers["Access-Control-Allow-Methods"]
            assert "Content-Type" in answer.headers["Access-Control-Allow-Headers"]
            assert answer.headers["Access-Control-Max-Age"] == "600"
            assert "Access-Control-Allow-Credentials" not in answer.headers
        async with http.post(f"{t.url}/api/shop/buy", json={}, headers={"Origin": SITE}) as answer:
            assert (answer.status, (await answer.json())["result"]) == (200, "bought")
            assert answer.headers["Access-Control-Allow-Origin"] == SITE
            assert "Origin" in answer.headers.getall("Vary")
            assert "X-Trace-Id" in answer.headers["Access-Control-Expose-Headers"]
        async with http.post(f"{t.url}/api/shop/nope", json={}, headers={"Origin": SITE}) as answer:
            assert answer.status == 404  # errors carry the headers too, so the page can read the envelope
            assert answer.headers["Access-Control-Allow-Origin"] == SITE


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        (preflight(EVIL), f"origin {EVIL} is not allowed"),
        (preflight(SITE, method="DELETE"), "method DELETE is not allowed"),
        (preflight(SITE, headers="content-type, x-secret"), "headers x-secret are not allowed"),
    ],
)
async def test_a_preflight_outside_the_allow_list_is_refused(headers: dict[str, str], reason: str) -> None:
    async with TestApp(shop_app(CORS_ORIGINS=SITE), http=True) as t, aiohttp.ClientSession() as http:
        async with http.options(f"{t.url}/api/shop/buy", headers=headers) as answer:
            assert answer.status == 403
            assert "Access-Control-Allow-Methods" not in answer.headers
            assert (await answer.json())["error"]["message"] == f"CORS preflight refused: {reason}"
        async with http.post(f"{t.url}/api/shop/buy", json={}, headers={"Origin": EVIL}) as answer:
            assert "Access-Control-Allow-Origin" not in answer.headers  # the browser hides the answer from evil


async def test_credentials_echo_the_origin_and_refuse_the_wildcard() -> None:
    environ = {"CORS_ORIGINS": SITE, "CORS_CREDENTIALS": "true"}
    async with (
        TestApp(shop_app(**environ), http=True) as t,
        aiohttp.ClientSession() as http,
        http.post(f"{t.url}/api/shop/buy", json={}, headers={"Origin": SITE}) as answer,
    ):
        assert answer.headers["Access-Control-Allow-Origin"] == SITE
        assert answer.headers["Access-Control-Allow-Credentials"] == "true"
    with pytest.raises(ConfigError, match="not \\*"):
        CorsConfig.load(environ={"CORS_ORIGINS": "*", "CORS_CREDENTIALS": "true"}, env_file=())


async def test_the_wildcard_without_credentials_answers_star() -> None:
    async with (
        TestApp(shop_app(CORS_ORIGINS="*"), http=True) as t,
        aiohttp.ClientSession() as http,
        http.post(f"{t.url}/api/shop/buy", json={}, headers={"Origin": EVIL}) as answer,
    ):
        assert answer.headers["Access-Control-Allow-Origin"] == "*"
