"""``betrue openapi module:app [--out FILE]`` through the ``betrue`` command line (betrue.static.cli)."""

from __future__ import annotations

import json
from importlib.metadata import entry_points
from pathlib import Path

import pytest
from openapi_spec_validator import validate

from betrue.server.cli import main

APP_MODULE = """
from betrue.server import Application, Group, declare_event

shop = Group("shop")


@shop.command("list", output={"type": "array"}, description="Every item")
async def list_items(params, ctx):
    return []


declare_event(shop, "shop.sold", schema={"type": "object"}, to=["user"])
app = Application("shop", groups=[shop], http=False, env_file=None)
"""


@pytest.fixture
def app_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    (tmp_path / "cli_shop_app.py").write_text(APP_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    return "cli_shop_app:app"


def test_the_subcommand_is_registered_through_the_entry_point_group() -> None:
    assert "betrue.static.cli:register" in [entry.value for entry in entry_points(group="betrue.cli")]


def test_openapi_to_a_file(app_module: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "openapi.json"
    assert main(["openapi", app_module, "--out", str(out), "--title", "Shop API"]) == 0
    document = json.loads(out.read_text())
    validate(document)
    assert document["info"]["title"] == "Shop API"
    assert list(document["paths"]) == ["/api/shop/list"]
    assert f"{out}: OpenAPI document of shop" in capsys.readouterr().out


def test_openapi_to_stdout_with_another_prefix(app_module: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["openapi", app_module, "--api-prefix", "/rpc"]) == 0
    assert list(json.loads(capsys.readouterr().out)["paths"]) == ["/rpc/shop/list"]


def test_asyncapi(app_module: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["openapi", app_module, "--asyncapi"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["asyncapi"] == "3.0.0"
    assert "shop.sold" in document["components"]["messages"]


def test_a_missing_module_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["openapi", "no_such_module_here:app"]) == 1
    assert "cannot import 'no_such_module_here'" in capsys.readouterr().err


def test_betrue_run_stops_on_a_be_true_template_name_with_one_line_and_no_traceback(tmp_path: Path) -> None:
    import subprocess
    import sys

    (tmp_path / "public").mkdir()
    (tmp_path / "public" / "app.css").write_text("body{}")
    (tmp_path / "public" / "index.tmpl.html").write_text("<html>\n<link href=\"{{ urlFile('app.css') }}\">\n")
    (tmp_path / "ported_site.py").write_text(
        "from betrue.server import Application\nfrom betrue.static import StaticService\n"
        "app = Application('site', environ={'HTTP_PORT': '0'}, env_file=None)\n"
        f"app.add_service(StaticService, config={{'root': {str(tmp_path / 'public')!r}}})\n"
    )
    done = subprocess.run(
        [str(Path(sys.executable).with_name("betrue")), "run", "ported_site:app"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    expected = (
        "betrue: TemplateError: template index.tmpl.html line 2: urlFile() is @be-true's name; "
        "betrue's is file(path, hash=False)"
    )
    assert expected in done.stderr.splitlines()[-1]


def test_betrue_run_stops_on_a_missing_static_root_with_one_line(tmp_path: Path) -> None:
    import subprocess
    import sys

    (tmp_path / "no_root_site.py").write_text(
        "from betrue.server import Application\nfrom betrue.static import StaticService\n"
        "app = Application('site', environ={'HTTP_PORT': '0'}, env_file=None)\n"
        "app.add_service(StaticService, config={'root': 'nothing-here'})\n"
    )
    done = subprocess.run(
        [str(Path(sys.executable).with_name("betrue")), "run", "no_root_site:app"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "betrue: StaticRootError: static root 'nothing-here' is not a folder" in done.stderr.splitlines()[-1]
