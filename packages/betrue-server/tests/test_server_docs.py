"""The README and the docs pages of betrue-server run: their Python blocks, top to bottom, in one namespace."""

from __future__ import annotations

import asyncio
import inspect
import json
import re
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[3]
PAGES = [
    ROOT / "packages" / "betrue-server" / "README.md",
    ROOT / "docs" / "server.md",
    ROOT / "docs" / "testing.md",
    ROOT / "docs" / "cli.md",
]


def blocks(page: Path, language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", page.read_text(), re.MULTILINE | re.DOTALL)


def json_values(block: str) -> list[Any]:
    """Every JSON value of a block: one, or a transcript of several (one message a line)."""
    decoder, values, position = json.JSONDecoder(), [], 0
    while (position := len(block) - len(block[position:].lstrip())) < len(block):
        value, position = decoder.raw_decode(block, position)
        values.append(value)
    return values


def python_source(page: Path) -> str:
    """The page's Python blocks, other lines blanked, so a traceback's line numbers are the page's."""
    lines, inside = [], False
    for line in page.read_text().splitlines():
        fence = line.startswith("```")
        if fence:
            inside = not inside and line == "```python"
        lines.append(line if inside and not fence else "")
    return "\n".join(lines)


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name if page.parent.name == "docs" else "README")
def test_the_python_blocks_of_the_page_run(page: Path) -> None:
    assert blocks(page, "python"), f"{page} has no python block"
    namespace: dict[str, Any] = {"__name__": f"docs_{page.stem}"}
    exec(compile(python_source(page), str(page), "exec"), namespace)
    # Pages that show tests (testing.md) define test functions: run them as pytest would.
    for name, function in namespace.items():
        if name.startswith("test_") and inspect.iscoroutinefunction(function):
            asyncio.run(function())


def test_the_envelopes_of_the_protocol_page_are_json_with_the_envelope_members() -> None:
    page = ROOT / "docs" / "protocol.md"
    envelopes = [value for block in blocks(page, "json") for value in json_values(block)]
    for envelope in (item for item in envelopes if "code" in item):  # other blocks: messages of other transports
        assert {"code", "status", "traceId"} <= set(envelope)
        assert ("result" in envelope) != ("error" in envelope)
