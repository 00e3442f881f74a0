"""schemathesis ``--checks all`` against every example app's OpenAPI document, as its own process.

Excluded checks, each with its reason:

- ``negative_data_rejection``: schemathesis sends ``null`` or an empty body as "data the schema forbids"
  and expects a 4xx; betrue reads a missing or empty body as "no params" (``{}``) on purpose, so a
  command whose params are all optional answers 200. Every other negative case is refused.

Everything else runs, ``positive_data_acceptance`` included: the schemas state the decoder's own
limits (signed 64-bit integers, no NUL in strings), so data the schema allows is accepted. One
widening, in ``CONFIG``: ``chat/upload`` may answer 415 to schema-valid data, because an upload is
judged by its bytes (a PNG, JPEG, GIF or WebP header), which no schema can state; schemathesis sends
a few arbitrary bytes labelled ``image/webp``. Every other status it expects stays as it is.

``chat/measure`` is a job's command (``auth=["system"]``): it stays in the document, documented as
403 for users, and schemathesis's "only 401/403" warning for it is the right answer, not a failure.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
from pathlib import Path

import pytest

from .attack import TALLY, status_class
from .conftest import GatewayStack, Served

FAMILY = "schemathesis --checks all"
EXCLUDED = "negative_data_rejection"
SCHEMATHESIS = "from schemathesis.cli import schemathesis; schemathesis()"
CONFIG = """
[[operations]]
include-path = "/api/chat/upload"
checks.positive_data_acceptance.expected-statuses = ["2xx", "3xx", "401", "403", "404", "409", "415", "429", "5xx"]
"""


async def run_schemathesis(
    served: Served, tmp_path: Path, examples: int, *, docs: str, schema: str | None = None
) -> str:
    headers = ["-H", f"Authorization: Bearer {served.token}"] if served.token else []
    config = tmp_path / "schemathesis.toml"
    config.write_text(CONFIG)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        SCHEMATHESIS,
        "--config-file",
        str(config),
        "run",
        schema or f"{served.url}{docs}",
        *(("--url", served.url) if schema else ()),
        *("--checks", "all", "--exclude-checks", EXCLUDED),
        *headers,
        # One worker: hypothesis describes strategies with ast.parse, which is not thread-safe on CPython 3.11.
        *("--max-examples", str(examples), "--seed", "20261204", "--workers", "1"),
        *("--phases", "coverage,fuzzing", "--request-timeout", "10"),
        *("--report", "har", "--report-har-path", str(tmp_path / "requests.har")),
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        async with asyncio.timeout(240):
            output, _ = await process.communicate()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    text = output.decode("utf-8", "replace")
    har = tmp_path / "requests.har"
    entries = json.loads(har.read_text())["log"]["entries"] if har.exists() else []
    for entry in entries:
        status = entry["response"]["status"]
        TALLY.record(FAMILY, served.name, status_class(status) if status else "closed")
    assert process.returncode == 0, text[-6000:]
    assert re.search(r"Failures:|❌", text) is None, text[-6000:]
    assert entries, "schemathesis recorded no request"
    return text


async def test_schemathesis_finds_nothing_in_the_chat(chat: Served, tmp_path: Path) -> None:
    await run_schemathesis(chat, tmp_path, 5, docs="/docs/openapi.json")


@pytest.mark.slow
async def test_schemathesis_finds_nothing_in_the_gateway(gateway: GatewayStack, tmp_path: Path) -> None:
    document = tmp_path / "openapi.json"
    from betrue.server import openapi_document

    document.write_text(json.dumps(openapi_document(gateway.gateway.app)))
    await run_schemathesis(gateway.gateway, tmp_path, 5, docs="", schema=str(document))


@pytest.mark.slow
async def test_schemathesis_at_length_in_the_chat(chat: Served, tmp_path: Path) -> None:
    await run_schemathesis(chat, tmp_path, 60, docs="/docs/openapi.json")
