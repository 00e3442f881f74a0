"""docs/auth.md and docs/streams.md run: their Python blocks, top to bottom, and the app they build works."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from betrue.server.testing import TestApp

DOCS = Path(__file__).resolve().parents[3] / "docs"


def run_blocks(page: str) -> dict[str, Any]:
    namespace: dict[str, Any] = {"__name__": f"docs_{page}"}
    for block in re.findall(r"^```python\n(.*?)^```", (DOCS / page).read_text(), re.MULTILINE | re.DOTALL):
        exec(compile(block, str(DOCS / page), "exec"), namespace)
    return namespace


async def test_the_auth_page_builds_an_app_whose_rules_hold() -> None:
    page = run_blocks("auth.md")
    async with TestApp(page["app"], env={"JWT_SECRET": "d" * 32}) as client:
        assert (await client.call("shop/orders"))["error"]["details"] == {"reason": "missing"}
        assert (await client.call("shop/catalog"))["result"] == {"items": [], "viewer": None}
    assert page["user"].commands[0].code == "user/login"


def test_the_streams_page_declares_an_upload_and_a_download() -> None:
    page = run_blocks("streams.md")
    assert [command.code for command in page["files"].commands] == ["files/put", "files/get"]
