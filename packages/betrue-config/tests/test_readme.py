"""The README's example runs, and prints exactly the output the README shows."""

import contextlib
import io
import re
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def blocks(language: str) -> list[str]:
    return [body for lang, body in FENCE.findall(README.read_text(encoding="utf-8")) if lang == language]


def run_example() -> str:
    [code] = blocks("python")
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        exec(compile(code, str(README), "exec"), {"__name__": "readme_example"})
    return output.getvalue()


def test_readme_shows_what_the_example_prints() -> None:
    [shown] = blocks("text")
    assert run_example() == shown


def test_readme_output_holds_a_docs_table_and_an_error_table() -> None:
    [shown] = blocks("text")
    assert "| required | default   | env " in shown
    assert "| error " in shown
    assert "s3cret" not in shown
    assert "**********" in shown
