"""The README's example runs against the real PostgreSQL and prints exactly what the README shows."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def _blocks(language: str) -> list[str]:
    return [body for lang, body in FENCE.findall(README.read_text(encoding="utf-8")) if lang == language]


def test_readme_example_prints_what_the_readme_shows(server_dsn: str) -> None:
    [code] = _blocks("python")
    [shown] = _blocks("text")
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        # asyncio.run inside: this test is synchronous on purpose (no running loop).
        exec(compile(code, str(README), "exec"), {"__name__": "readme_example"})
    assert output.getvalue() == shown
