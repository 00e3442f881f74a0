"""The layout holds: no import cycle, the contracts cover every module, the docs' map and pipeline match the code."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import grimp
import pytest

from betrue.server import Application, CallNext, Context, Group, Middleware, Response
from betrue.server._pipeline import PIPELINE, PLUGGABLE
from betrue.server.testing import TestApp

ROOT = Path(__file__).resolve().parents[3]
SOURCE = ROOT / "packages" / "betrue-server" / "src" / "betrue" / "server"
ARCHITECTURE = (ROOT / "docs" / "architecture.md").read_text()


def _graph() -> grimp.ImportGraph:
    return grimp.build_graph("betrue", exclude_type_checking_imports=True)


def _cycles(imports: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in imports[module]:
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            component: list[str] = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in imports:
        if module not in index:
            visit(module)
    return found


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_module_of_betrue_server_imports_another_in_a_cycle_at_run_time() -> None:
    graph = _graph()
    server = {module for module in graph.modules if module.startswith("betrue.server")}
    imports = {module: graph.find_modules_directly_imported_by(module) & server for module in server}
    assert _cycles(imports) == []


def _contract(name_start: str) -> dict[str, object]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    contracts: list[dict[str, object]] = config["tool"]["importlinter"]["contracts"]
    return next(contract for contract in contracts if str(contract["name"]).startswith(name_start))


def _top_level_modules() -> set[str]:
    names = {path.stem for path in SOURCE.glob("*.py")} | {path.name for path in SOURCE.iterdir() if path.is_dir()}
    return {f"betrue.server.{name}" for name in names if name not in {"__init__", "__pycache__"}}


def test_the_backend_contract_forbids_every_module_but_the_extension_surface() -> None:
    forbidden = set(_contract("Backends")["forbidden_modules"])  # type: ignore[call-overload]
    assert forbidden == _top_level_modules() - {"betrue.server.ext"}


def test_the_core_contract_lists_the_core_of_the_module_map() -> None:
    core = set(_contract("Core of betrue-server")["source_modules"])  # type: ignore[call-overload]
    rows = re.findall(r"^\| `([\w/]+)\.py` \| .* \| core \|$", ARCHITECTURE, re.MULTILINE)
    assert core == {f"betrue.server.{row}" for row in rows}
    forbidden = set(_contract("Core of betrue-server")["forbidden_modules"])  # type: ignore[call-overload]
    assert forbidden | core == _top_level_modules()


def test_the_core_imports_nothing_outside_it_at_run_time() -> None:
    graph = _graph()
    core = set(_contract("Core of betrue-server")["source_modules"])  # type: ignore[call-overload]
    outside = {
        (module, imported)
        for module in core
        for imported in graph.find_modules_directly_imported_by(module)
        if imported.startswith("betrue.") and imported not in core and imported != "betrue.config"
    }
    assert outside == set()


def _between(text: str, marker: str) -> str:
    match = re.search(rf"<!-- {marker}:start -->\n(.*?)<!-- {marker}:end -->", text, re.DOTALL)
    assert match is not None, f"docs/architecture.md lacks the {marker} markers"
    return match[1]


def test_the_module_map_of_the_docs_is_the_tree() -> None:
    listed = re.findall(r"^\| `([\w/]+\.py)` \|", _between(ARCHITECTURE, "module-map"), re.MULTILINE)
    on_disk = sorted(str(path.relative_to(SOURCE)) for path in SOURCE.rglob("*.py"))
    assert len(listed) == len(set(listed)), "a module is listed twice"
    assert sorted(listed) == on_disk


def test_the_pipeline_of_the_docs_is_the_pipeline_of_the_code() -> None:
    documented = re.findall(r"^\d+\. `(\w+)` —", _between(ARCHITECTURE, "pipeline"), re.MULTILINE)
    assert tuple(documented) == PIPELINE


def test_the_pipeline_module_docstring_points_at_the_one_list() -> None:
    import betrue.server._pipeline as pipeline

    assert pipeline.__doc__ is not None
    assert "``PIPELINE``" in pipeline.__doc__
    assert set(PLUGGABLE) < set(PIPELINE)
    assert PIPELINE[-1] == "handler"


def test_only_the_pluggable_slots_take_stages() -> None:
    app = Application("slots", http=False, env_file=None)
    for slot in PIPELINE:
        if slot in PLUGGABLE:
            app.add_stage(slot, lambda app, command: None)
        else:
            with pytest.raises(ValueError, match=f"no pipeline slot {slot!r}"):
                app.add_stage(slot, lambda app, command: None)


async def test_a_command_runs_its_stages_in_the_order_of_pipeline() -> None:
    seen: list[str] = []

    def recorder(name: str) -> Middleware:
        async def stage(ctx: Context, params: Any, call_next: CallNext) -> Response:
            seen.append(name)
            return await call_next(ctx, params)

        stage.__name__ = name
        return stage

    shop = Group("shop", middlewares=[recorder("middlewares")])

    @shop.command("buy", input={"type": "object"}, output={"type": "object"})
    async def buy(params: Any, ctx: Context) -> dict[str, Any]:
        seen.append("handler")
        return {}

    app = Application("ordered", groups=[shop], http=False, env_file=None)
    for slot in ("trace", "metrics", "authorize", "stream"):  # "log" is filled by the app already
        app.add_stage(slot, lambda app, command, slot=slot: recorder(slot))  # type: ignore[misc]
    async with TestApp(app) as running:
        await running.call("shop/buy", {})
        names = [stage.__name__ for stage in app.router.stages_of(app.commands["shop/buy"])]
    assert names == [
        "log_call",
        "error_boundary",
        "trace",
        "metrics",
        "enforce_deadline",
        "authorize",
        "stream",
        "middlewares",
        "validate_input",
        "validate_output",
    ]
    assert seen == ["trace", "metrics", "authorize", "stream", "middlewares", "handler"]
    slots = [name for name in PIPELINE if name in {*seen, "handler"}]
    assert seen == slots


def _fresh(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-W", "error", "-c", code], capture_output=True, text=True, timeout=60, check=False
    )


def test_an_app_without_auth_never_imports_pyjwt_or_cryptography() -> None:
    done = _fresh(
        "import sys\n"
        "from betrue.server import Application\n"
        "Application('plain')\n"
        "print(sorted(m for m in ('jwt', 'cryptography', 'betrue.server.auth.jwt') if m in sys.modules))\n"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_every_module_imports_on_its_own_in_a_fresh_interpreter_without_warnings() -> None:
    modules = sorted(
        "betrue.server." + ".".join(path.relative_to(SOURCE).with_suffix("").parts).removesuffix(".__init__")
        for path in SOURCE.rglob("*.py")
    )
    code = "import importlib\n" + "".join(f"importlib.import_module({module!r})\n" for module in modules)
    done = _fresh(code)
    assert done.returncode == 0, done.stderr


def test_every_file_the_data_paths_name_exists() -> None:
    section = ARCHITECTURE.split("## Data paths", 1)[1].split("\n## ", 1)[0]
    named = set(re.findall(r"`((?:betrue/\w+/)?[\w/]+\.py)`", section))
    assert len(named) > 10
    packages = ROOT / "packages"
    missing = []
    for name in sorted(named):
        if name.startswith("betrue/ws/"):
            found = (packages / "betrue-ws" / "src" / name).exists()
        else:
            found = (SOURCE / name).exists()
        if not found:
            missing.append(name)
    assert missing == []


def test_the_server_page_points_at_the_one_pipeline_list() -> None:
    server_page = (ROOT / "docs" / "server.md").read_text()
    assert "`PIPELINE` in `betrue/server/_pipeline.py`" in server_page
    assert "stage_factories" not in server_page
