"""Swagger UI in a real browser (headless Chromium through Playwright): list the commands, "Try it out"."""

from __future__ import annotations

from typing import Any

import pytest

from betrue.server import Application
from betrue.static.testing import serving

pytestmark = pytest.mark.browser


async def test_swagger_ui_lists_the_commands_and_try_it_out_calls_the_server(
    browser: Any, sample_app: Application
) -> None:
    from playwright.async_api import expect

    expect.set_options(timeout=15_000)
    problems: list[str] = []
    requests: list[str] = []
    async with serving(sample_app) as url:
        page = await browser.new_page()
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.on("request", lambda request: requests.append(request.url))
        await page.goto(f"{url}/docs/")

        paths = page.locator(".opblock-summary-path")
        await expect(paths).to_have_count(4)
        assert sorted(await paths.all_inner_texts()) == [
            "/api/shop/add",
            "/api/shop/count",
            "/api/shop/get",
            "/api/util/echo",
        ]
        await expect(page.locator(".opblock-tag").filter(has_text="A tiny shop")).to_be_visible()

        echo = page.locator(".opblock").filter(has=page.locator('[data-path="/api/util/echo"]'))
        await echo.locator(".opblock-summary").click()
        await echo.get_by_role("button", name="Try it out").click()
        await echo.locator("textarea.body-param__text").fill('{"text": "hello from swagger"}')
        await echo.get_by_role("button", name="Execute").click()

        live = echo.locator(".live-responses-table")
        await expect(live.locator("tbody td.response-col_status").first).to_have_text("200")
        await expect(live.locator(".highlight-code").first).to_contain_text("hello from swagger")
        await expect(live.locator(".highlight-code").first).to_contain_text('"status": "Success"')
        await page.close()
    assert problems == []
    assert f"{url}/api/util/echo" in requests  # "Try it out" called the server that served the page
    assert all(request.startswith(url) for request in requests)  # and nothing else: no CDN
