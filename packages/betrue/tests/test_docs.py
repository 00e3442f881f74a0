"""Every page of docs/ against the code: its Python blocks run, its curls answer, nothing names what is not there.

A Python block that cannot run here (it needs a server, or continues an example of another page) starts
with the visible line ``# not run: <reason>``; it must still compile, and its imports must resolve.
"""

from __future__ import annotations

import ast
import asyncio
import inspect
import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from betrue.server import Application
from betrue.server.testing import TestApp
from examples.gateway.chat import Rooms, chat
from examples.gateway.game import game
from examples.hello.app import Greeter, hello

ROOT = Path(__file__).resolve().parents[3]
DOCS = sorted((ROOT / "docs").glob("*.md"))
NOT_RUN = re.compile(r"^# not run: (\S.*)$")
FENCE = re.compile(r"^```(\w*)")


def python_blocks(page: Path) -> list[tuple[int, str]]:
    """(first line number, source) of every ```python block."""
    found, lines, start, inside = [], page.read_text().splitlines(), 0, False
    for number, line in enumerate(lines, 1):
        fence = FENCE.match(line)
        if fence and not inside and fence.group(1) == "python":
            inside, start = True, number + 1
        elif line.startswith("```") and inside:
            found.append((start, "\n".join(lines[start - 1 : number - 1])))
            inside = False
    return found


def runnable_source(page: Path) -> str:
    """The page's runnable blocks at their own line numbers (tracebacks point into the page)."""
    lines = [""] * len(page.read_text().splitlines())
    for start, block in python_blocks(page):
        if not NOT_RUN.match(block.splitlines()[0] if block else ""):
            for offset, line in enumerate(block.splitlines()):
                lines[start - 1 + offset] = line
    return "\n".join(lines)


def curls(text: str) -> list[str]:
    """Every curl command line in fenced blocks or in source text."""
    return [match.group(0).strip() for match in re.finditer(r"curl [^\n`]*", text)]


PAGES_WITH_PYTHON = [page for page in DOCS if python_blocks(page)]
# Pages whose blocks a package's own tests run (a page that registers an error status runs once a process).
RUN_ELSEWHERE = {
    "server.md": "packages/betrue-server/tests/test_server_docs.py",
    "testing.md": "packages/betrue-server/tests/test_server_docs.py",
    "cli.md": "packages/betrue-server/tests/test_server_docs.py",
    "auth.md": "packages/betrue-server/tests/test_auth_docs.py",
    "streams.md": "packages/betrue-server/tests/test_auth_docs.py",
}


def test_pages_run_elsewhere_are_run_there() -> None:
    for page, test_file in RUN_ELSEWHERE.items():
        assert f'"{page}"' in (ROOT / test_file).read_text(), f"{test_file} does not run {page}"


@pytest.mark.parametrize(
    "page", [p for p in PAGES_WITH_PYTHON if p.name not in RUN_ELSEWHERE], ids=lambda page: page.name
)
def test_the_python_blocks_of_every_page_run(page: Path) -> None:
    namespace: dict[str, Any] = {"__name__": f"docs_{page.stem}"}
    exec(compile(runnable_source(page), str(page), "exec", dont_inherit=True), namespace)
    for name, function in list(namespace.items()):  # pages that show tests run them, as pytest would
        if name.startswith("test_") and inspect.iscoroutinefunction(function):
            asyncio.run(function())


@pytest.mark.parametrize("page", PAGES_WITH_PYTHON, ids=lambda page: page.name)
def test_blocks_not_run_say_why_compile_and_import_what_exists(page: Path) -> None:
    for start, block in python_blocks(page):
        first = block.splitlines()[0] if block else ""
        if not first.startswith("# not run"):
            continue
        assert NOT_RUN.match(first), f"{page.name} line {start}: write '# not run: <the reason>'"
        tree = compile(block, f"{page}:{start}", "exec", ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                exec(compile(ast.Module([node], []), f"{page}:{start + node.lineno - 1}", "exec"), {})


def docs_app() -> Application:
    """The examples the docs' curls are written against: hello, and the gateway example's game and chat."""
    app = Application("docs", groups=[hello, game, chat], env_file=None, environ={})
    app.add_service(Greeter)
    app.add_service(Rooms)
    return app


DOC_CURLS = [(page, line) for page in DOCS for line in curls(page.read_text())]


def test_every_curl_that_sends_a_body_says_it_is_json() -> None:
    sources = [*DOCS, ROOT / "README.md", *ROOT.glob("packages/*/README.md"), *ROOT.glob("examples/**/*.py")]
    sources += ROOT.glob("examples/**/*.md")
    missing = [
        f"{source.relative_to(ROOT)}: {line}"
        for source in sources
        for line in curls(source.read_text())
        if re.search(r"\s(-d|--data\S*)\s", line) and "Content-Type: application/json" not in line
    ]
    assert not missing, "curls that answer 415:\n" + "\n".join(missing)


@pytest.mark.skipif(shutil.which("curl") is None, reason="the curl binary is not installed")
async def test_every_curl_of_the_docs_answers_from_the_examples() -> None:
    assert DOC_CURLS, "the docs show no curl"
    async with TestApp(docs_app(), http=True) as t:
        for page, line in DOC_CURLS:
            words = shlex.split(line.split(" #", 1)[0])
            url_index = next(i for i, word in enumerate(words) if word.startswith("http"))
            original = urlsplit(words[url_index])
            words[url_index] = f"{t.url}{original.path}"
            command = [*words[:1], "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "20", *words[1:]]
            done = await asyncio.to_thread(subprocess.run, command, capture_output=True, text=True, timeout=30)
            assert done.stdout == "200", f"{page.name}: `{line}` answered {done.stdout or done.stderr}"


def test_ws_client_next_event_documents_what_it_raises() -> None:
    from betrue.ws import WsClient

    documented = inspect.getdoc(WsClient.next_event) or ""
    assert "Raises:" in documented
    assert "TimeoutError" in documented
    page = (ROOT / "docs" / "ws.md").read_text()
    assert re.search(r"`next_event\(.*?\)` .*? raises the built-in `TimeoutError`", page, re.DOTALL)


def tables(page: Path) -> list[list[str]]:
    """Every markdown table of a page outside code blocks, as its lines."""
    found: list[list[str]] = []
    inside_code, current = False, []
    for line in [*page.read_text().splitlines(), ""]:
        if line.startswith("```"):
            inside_code = not inside_code
        if not inside_code and line.startswith("|"):
            current.append(line)
        elif current:
            found.append(current)
            current = []
    return found


def cells(row: str) -> list[str]:
    return [cell.strip() for cell in re.split(r"(?<!\\)\|", row.strip().strip("|"))]


@pytest.mark.parametrize("page", DOCS, ids=lambda page: page.name)
def test_every_table_is_whole(page: Path) -> None:
    for table in tables(page):
        headed = len(table) >= 2 and set(table[1].replace("|", "").strip()) <= set("-: ")
        assert headed, f"{page.name}: a table without a header row starts with {table[0]!r} (a paragraph cut it?)"
        width = len(cells(table[0]))
        for row in table[2:]:
            assert len(cells(row)) == width, f"{page.name}: {row!r} has not {width} cells"
        keys = [cells(row)[0] for row in table[2:]]
        repeated = sorted({key for key in keys if keys.count(key) > 1 and key})
        assert not repeated, f"{page.name}: {repeated} listed twice in one table"


def cluster_variables() -> str:
    """The settings tables of the cluster's processes (examples/chat/cluster.py), as `betrue config docs` writes."""
    from examples.chat.cluster import create_gateway, create_service

    apps = [create_gateway(environ={}, env_file=None), create_service(environ={}, env_file=None)]
    return "\n".join(app.loader.docs(app.container.specs.values()) for app in apps)


def test_the_chat_pages_variables_are_the_chat_apps() -> None:
    """Every variable of chat.md's table is a setting of the chat: the monolith's (env.md) or a cluster process's."""
    page = ROOT / "docs" / "chat.md"
    monolith, cluster = (ROOT / "docs" / "env.md").read_text(), cluster_variables()
    config = next(table for table in tables(page) if cells(table[0])[0] == "variable")
    rows = [(name, cells(row)[2]) for row in config[2:] for name in re.findall(r"`([A-Z0-9_]+)`", cells(row)[0])]
    assert rows
    assert [name for name, _ in rows if f"`{name}`" not in monolith and f"`{name}`" not in cluster] == []
    # a row that says "cluster:" is read by the cluster's processes
    assert [name for name, said in rows if said.startswith("cluster:") and f"`{name}`" not in cluster] == []


def test_the_env_file_default_is_stated_once_and_the_same_where_the_code_has_it() -> None:
    from betrue.config import Config

    pages = [ROOT / "docs" / "config.md", ROOT / "packages" / "betrue-config" / "README.md"]
    stated = [re.findall(r"^\*\*The env file\.\*\*.*$", page.read_text(), re.MULTILINE) for page in pages]
    assert [len(found) for found in stated] == [1, 1]
    assert stated[0] == stated[1]
    assert inspect.signature(Application).parameters["env_file"].default == ".env"
    assert inspect.signature(Config.load).parameters["env_file"].default is None
    assert Config.model_config.get("env_file") is None
    assert "reads `.env` in the working directory" in stated[0][0]
    assert "read no `.env` file unless" in stated[0][0]


# The exports of @be-true/server (its index, services, transports, commands and utils) and @be-true/config.
BE_TRUE_EXPORTS = [
    "Application", "Command", "Response", "Client", "LoggerService", "StaticService", "HttpService",
    "HttpTransport", "AdapterHttpService", "AdapterWSService", "ApplicationGetCommands", "sortServices",
    "stringToStream", "streamToJson", "mergeServiceMeta", "scopedServices", "generateHash",
    "Config", "ConfigBase", "ConfigItem", "MDTable", "urlFile", "urlPage",
]  # fmt: skip


def test_from_be_true_maps_every_export_to_what_betrue_has() -> None:
    import importlib

    page = (ROOT / "docs" / "from-be-true.md").read_text()
    mapped = {cells(row)[0] for table in tables(ROOT / "docs" / "from-be-true.md") for row in table[2:]}
    missing = [name for name in BE_TRUE_EXPORTS if not any(re.search(rf"`{name}\b", cell) for cell in mapped)]
    assert missing == []
    for module, name in re.findall(r"`(betrue\.[a-z]+)\.([A-Za-z_]+)", page):
        assert hasattr(importlib.import_module(module), name), f"from-be-true.md names {module}.{name}"
    exports = [t for t in tables(ROOT / "docs" / "from-be-true.md") if cells(t[0])[:2] == ["@be-true", "betrue"]]
    assert len(exports) == 2  # the server's and the config's
    for row in [row for table in exports for row in table[2:]]:
        assert cells(row)[2] in {"yes", "renamed", "different", "absent", "new"}, row
