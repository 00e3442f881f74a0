"""``betrue config``: counts that agree with ``betrue run``, ``.env.example`` from the CLI, quiet on a closed pipe."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from loguru import logger

from betrue.server.cli import load_app, main

ROOT = Path(__file__).resolve().parents[3]
BETRUE = str(Path(sys.executable).with_name("betrue"))


def test_config_docs_into_a_closed_pipe_prints_no_traceback() -> None:
    read, write = os.pipe()
    os.close(read)  # the reader is gone before anything is written, as after `| head -1`
    try:
        done = subprocess.run(
            [BETRUE, "config", "docs", "examples.hello.app:app"],
            cwd=ROOT,
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        os.close(write)
    assert "Traceback" not in done.stderr
    assert "BrokenPipeError" not in done.stderr


async def test_config_check_counts_the_services_run_starts(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    assert main(["config", "check", "examples.hello.app:app"]) == 0
    checked = re.search(r"configuration of (\d+) services is valid", capsys.readouterr().out)
    assert checked is not None
    lines: list[str] = []
    sink = logger.add(lambda message: lines.append(str(message)), format="{message}")
    app = load_app("examples.hello.app:app")
    try:
        await app.start(serve=False)
        await app.stop()
    finally:
        logger.remove(sink)
    started = next(m for line in lines if (m := re.search(r"started: (\d+) services", line)))
    assert checked.group(1) == started.group(1)


def test_config_example_writes_an_env_example(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    target = tmp_path / ".env.example"
    assert main(["config", "example", "examples.hello.app:app", "--write", str(target)]) == 0
    text = target.read_text()
    assert "# The word each greeting starts with. Type: string." in text
    assert "\nGREETING=Hello\n" in text
    assert main(["config", "example", "examples.hello.app:app"]) == 0
    assert capsys.readouterr().out.endswith(text)


def test_generated_env_docs_are_portable_and_show_sizes_as_written() -> None:
    page = (ROOT / "docs" / "env.md").read_text()
    assert str(ROOT) not in page
    assert not re.search(r"\| +/(home|work|tmp|Users|root)/", page), "an absolute path of the generating machine"
    budget = next(line for line in page.splitlines() if "`STATIC_MEMORY_BUDGET`" in line)
    assert "256MiB" in budget
    assert "268435456" not in budget
