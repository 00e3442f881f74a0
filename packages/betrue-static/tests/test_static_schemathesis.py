"""schemathesis against a sample app's ``/docs/openapi.json``: no 5xx, no answer off the declared schema.

schemathesis runs as its own process (its CLI, as a user would run it) while the app serves from
this test's event loop. Bounded: a fixed seed and a few dozen cases per command, 10-20 s.

Two of its checks are left out on purpose, because the documented wire rules make them fail on any
betrue app: ``positive_data_acceptance`` (the JSON decoder refuses integers outside 64 bits, which
JSON Schema's ``integer`` allows) and ``negative_data_rejection`` (a ``null`` body means "no params").
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from betrue.server import Application
from betrue.static.testing import serving

EXCLUDED = "negative_data_rejection,positive_data_acceptance"
SCHEMATHESIS = "from schemathesis.cli import schemathesis; schemathesis()"


async def test_schemathesis_finds_no_server_error_and_no_schema_violation(
    sample_app: Application, tmp_path: Path
) -> None:
    async with serving(sample_app) as url:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            SCHEMATHESIS,
            "run",
            f"{url}/docs/openapi.json",
            *("--checks", "all", "--exclude-checks", EXCLUDED),
            # One worker: hypothesis describes strategies with ast.parse, which is not thread-safe on CPython 3.11.
            *("--max-examples", "10", "--seed", "20260101", "--workers", "1"),
            *("--phases", "coverage,fuzzing", "--request-timeout", "10"),
            cwd=tmp_path,  # schemathesis keeps a cache folder (.schemathesis/) in its working directory
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        try:
            async with asyncio.timeout(90):
                output, _ = await process.communicate()
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
    text = output.decode("utf-8", "replace")
    assert process.returncode == 0, text[-6000:]
    assert "Tested: 4" in text
    assert "No issues found" in text
