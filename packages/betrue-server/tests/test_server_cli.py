"""The ``betrue`` CLI in subprocesses: run + graceful SIGTERM, config errors, config docs/check, commands."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest

from betrue.server.cli import build_parser, main

BETRUE = str(Path(sys.executable).with_name("betrue"))

APP = textwrap.dedent(
    '''
    """Three services (one depending on two, one request-scoped) and four commands."""
    import asyncio
    from loguru import logger
    from betrue.config import Config, env
    from betrue.server import Application, Group, Service


    class ClockConfig(Config):
        """Clock"""
        offset: int = env("CLOCK_OFFSET", 0, description="Seconds added to every reading")


    class Tracked(Service):
        async def start(self):
            logger.info("service started: {}", self.name)
            return self

        async def stop(self):
            logger.info("service stopped: {}", self.name)


    class Clock(Tracked):
        name = "clock"
        config_class = ClockConfig

        def now(self):
            return 1000 + self.config.offset


    class Store(Tracked):
        name = "store"

        async def start(self):
            self.items = []
            return await super().start()


    class Journal(Tracked):
        """Depends on two services."""
        name = "journal"
        deps = ("clock", "store")

        def add(self, text):
            self.services["store"].items.append({"text": text, "at": self.services["clock"].now()})


    class UnitOfWork(Tracked):
        """Request-scoped: one per call."""
        name = "uow"
        deps = ("journal",)
        scope = "request"


    notes = Group("notes")


    @notes.command("add", input={"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]})
    async def add(params, ctx):
        (await ctx.service("uow")).services["journal"].add(params["text"])
        return {"ok": True}


    @notes.command("list")
    async def list_notes(params, ctx):
        return {"items": (await ctx.service("store")).items}


    @notes.command("count", output={"type": "object", "required": ["count"]})
    async def count(params, ctx):
        return {"count": len((await ctx.service("store")).items)}


    @notes.command("slow")
    async def slow(params, ctx):
        ctx.logger.info("slow call started")
        await asyncio.sleep(params.get("seconds", 1.0))
        return {"slept": True}


    app = Application("notes", groups=[notes], env_file=None)
    for service in (Clock, Store, Journal, UnitOfWork):
        app.add_service(service)
    '''
)

BROKEN_CONFIG_APP = textwrap.dedent(
    '''
    from betrue.config import Config, env
    from betrue.server import Application, Service


    class MailConfig(Config):
        """Mail"""
        url: str = env("MAIL_URL", description="Where mail goes")
        retries: int = env("MAIL_RETRIES", 3, description="Tries per message")


    class Mail(Service):
        name = "mail"
        config_class = MailConfig


    app = Application("broken", env_file=None)
    app.add_service(Mail)
    '''
)


@dataclass
class Running:
    process: asyncio.subprocess.Process
    lines: list[dict[str, object]] = field(default_factory=list)
    url: str = ""

    async def wait_for(self, text: str, timeout: float = 15.0) -> dict[str, object]:
        """The next JSON log line whose message contains ``text`` (lines before it are kept in ``lines``)."""
        assert self.process.stderr is not None
        async with asyncio.timeout(timeout):
            while True:
                raw = await self.process.stderr.readline()
                if not raw:
                    raise AssertionError(f"exited before logging {text!r}; got {self.lines}")
                try:
                    line: dict[str, object] = json.loads(raw)
                except ValueError:
                    line = {"message": raw.decode(errors="replace")}
                self.lines.append(line)
                if text in str(line.get("message")):
                    return line


def environment(**extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("HTTP_", "LOG_", "CLOCK_"))}
    return {**env, "HTTP_PORT": "0", "PYTHONUNBUFFERED": "1", **extra}


@asynccontextmanager
async def betrue_run(folder: Path, target: str, **env: str) -> AsyncIterator[Running]:
    process = await asyncio.create_subprocess_exec(
        BETRUE, "run", target, cwd=folder, env=environment(**env), stderr=asyncio.subprocess.PIPE
    )
    running = Running(process)
    try:
        yield running
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


@pytest.fixture
def app_folder(tmp_path: Path) -> Path:
    (tmp_path / "notes_app.py").write_text(APP)
    (tmp_path / "broken_app.py").write_text(BROKEN_CONFIG_APP)
    return tmp_path


async def test_betrue_run_serves_and_stops_gracefully_on_sigterm_with_a_call_in_flight(app_folder: Path) -> None:
    async with betrue_run(app_folder, "notes_app:app", CLOCK_OFFSET="5") as running:
        url = str((await running.wait_for("HTTP listening on"))["url"])
        await running.wait_for("notes started")
        async with aiohttp.ClientSession() as session:
            async with session.post(f"{url}/api/notes/add", json={"text": "hi"}) as reply:
                assert reply.status == 200
            async with session.post(f"{url}/api/notes/list", json={}) as reply:
                assert (await reply.json())["result"] == {"items": [{"text": "hi", "at": 1005}]}
            async with session.post(f"{url}/api/notes/count") as reply:
                assert (await reply.json())["result"] == {"count": 1}

            slow = asyncio.create_task(session.post(f"{url}/api/notes/slow", json={"seconds": 1.5}))
            await running.wait_for("slow call started")
            running.process.send_signal(signal.SIGTERM)
            await running.wait_for("calls in flight")  # listeners are closed before the app waits
            host, port = url.removeprefix("http://").rsplit(":", 1)
            with pytest.raises(ConnectionRefusedError):
                await asyncio.open_connection(host, int(port))
            async with await slow as reply:
                assert reply.status == 200
                assert (await reply.json())["result"] == {"slept": True}
        assert await asyncio.wait_for(running.process.wait(), 15) == 0
        await running.wait_for("notes stopped")
    stops = [str(line["message"]) for line in running.lines if "service stopped" in str(line["message"])]
    starts = [str(line["message"]) for line in running.lines if "service started" in str(line["message"])]
    names = [message.rsplit(" ", 1)[1] for message in starts]
    assert names[:2] in (["clock", "store"], ["store", "clock"])
    assert names[2] == "journal"
    assert [message.rsplit(" ", 1)[1] for message in stops] == list(reversed(names))


async def test_betrue_run_prints_the_config_error_tables_and_exits_1(app_folder: Path) -> None:
    result = await asyncio.to_thread(
        subprocess.run,
        [BETRUE, "run", "broken_app:app"],
        cwd=app_folder,
        env=environment(MAIL_RETRIES="many"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "the configuration of 'broken' has errors" in result.stderr
    assert "## Mail" in result.stderr
    assert "| Required, not set" in result.stderr
    assert "MAIL_URL" in result.stderr
    assert "MAIL_RETRIES" in result.stderr
    assert "valid integer" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.fixture
def in_folder(app_folder: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Run the CLI in this process (subprocesses are kept for what needs one): cwd = the app folder."""
    monkeypatch.chdir(app_folder)
    monkeypatch.syspath_prepend(str(app_folder))
    for name in list(os.environ):
        if name.startswith(("HTTP_", "LOG_", "MAIL_", "CLOCK_")):
            monkeypatch.delenv(name)
    yield app_folder
    for module in ("notes_app", "broken_app"):
        sys.modules.pop(module, None)


def test_config_check_reports_errors_with_exit_1_and_passes_a_good_config(
    in_folder: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["config", "check", "broken_app:app"]) == 1
    assert "MAIL_URL" in capsys.readouterr().err
    monkeypatch.setenv("MAIL_URL", "smtp://mail")
    assert main(["config", "check", "broken_app:app"]) == 0
    assert "valid" in capsys.readouterr().out


def test_config_docs_prints_every_service_and_rewrites_between_markers(
    in_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["config", "docs", "notes_app:app"]) == 0
    printed = capsys.readouterr().out
    for variable in ("`CLOCK_OFFSET`", "`HTTP_PORT`", "`HTTP_BODY_LIMIT`", "`LOG_LEVEL`", "`SHUTDOWN_TIMEOUT`"):
        assert variable in printed
    page = in_folder / "env.md"
    page.write_text("# Env\n\n[envs]: start\nold\n[envs]: end\n\nafter\n")
    assert main(["config", "docs", "notes_app:app", "--write", str(page)]) == 0
    assert "updated" in capsys.readouterr().out
    text = page.read_text()
    assert "old" not in text
    assert "`CLOCK_OFFSET`" in text
    assert text.endswith("[envs]: end\n\nafter\n")
    assert main(["config", "docs", "notes_app:app", "--write", str(page)]) == 0
    assert "already up to date" in capsys.readouterr().out
    no_markers = in_folder / "plain.md"
    no_markers.write_text("nothing here\n")
    assert main(["config", "docs", "notes_app:app", "--write", str(no_markers)]) == 1
    assert "marker" in capsys.readouterr().err


def test_commands_lists_codes_and_descriptions(in_folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["commands", "notes_app:app"]) == 0
    codes = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert codes == ["notes/add", "notes/list", "notes/count", "notes/slow"]
    assert main(["commands", "notes_app:app", "--json"]) == 0
    as_json = json.loads(capsys.readouterr().out)
    assert as_json[0]["code"] == "notes/add"
    assert as_json[0]["input"]["required"] == ["text"]
    assert main(["commands", "notes_app:app", "--all"]) == 0
    assert "_app/health" in capsys.readouterr().out


def test_a_wrong_target_is_one_line_and_exit_1(in_folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for target, message in [("missing_module:app", "no module"), ("notes_app:nope", "no attribute")]:
        assert main(["commands", target]) == 1
        error = capsys.readouterr().err
        assert message in error
        assert "Traceback" not in error


def test_plugins_from_entry_points_load_only_when_their_subcommand_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    loaded: list[str] = []

    def register(subparsers: object) -> None:
        loaded.append("hello")
        parser = subparsers.add_parser("hello", help="say hello")  # type: ignore[attr-defined]
        parser.set_defaults(handler=lambda args: 7)

    class FakeEntryPoint:
        name, value, dist = "hello", "fake:register", None

        def load(self) -> object:
            return register

    monkeypatch.setattr("betrue.server.cli._plugins", lambda: {"hello": FakeEntryPoint()})
    assert "hello" in build_parser([]).format_help()
    assert loaded == []
    assert main(["hello"]) == 7
    assert loaded == ["hello"]


def test_help_lists_the_subcommands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert "run" in out
    assert "config" in out
    assert "commands" in out


@pytest.mark.slow
async def test_betrue_run_reload_restarts_on_a_code_change(app_folder: Path) -> None:
    process = await asyncio.create_subprocess_exec(
        BETRUE, "run", "notes_app:app", "--reload", cwd=app_folder, env=environment(), stderr=asyncio.subprocess.PIPE
    )
    running = Running(process)
    try:
        await running.wait_for("HTTP listening on", timeout=30)
        await running.wait_for("notes started", timeout=30)
        (app_folder / "notes_app.py").write_text(APP.replace('Application("notes"', 'Application("notes2"'))
        await running.wait_for("notes stopped", timeout=30)
        await running.wait_for("notes2 started", timeout=30)
        process.send_signal(signal.SIGINT)
        await asyncio.wait_for(process.wait(), 30)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
