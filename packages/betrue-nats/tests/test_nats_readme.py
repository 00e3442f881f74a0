"""The README's example runs against a real NATS server and prints what the README shows."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def blocks(language: str) -> list[str]:
    return [body for lang, body in FENCE.findall(README.read_text(encoding="utf-8")) if lang == language]


def test_the_readme_example_prints_what_the_readme_shows(shared_nats: str, prefix: str) -> None:
    [code] = blocks("python")
    [shown] = blocks("text")
    environ = {**os.environ, "LOG_LEVEL": "WARNING", "NATS_URL": shared_nats, "NATS_PREFIX": prefix}
    # Its own interpreter: the example calls asyncio.run, which cannot nest in the test's event loop.
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=environ, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == shown
