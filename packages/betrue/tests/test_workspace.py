"""The workspace holds together: one version everywhere, every module imports cleanly on its own."""

from __future__ import annotations

import importlib.util
import json
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
PACKAGES = ["config", "server", "static", "ws", "nats", "postgres"]


def betrue_modules() -> list[str]:
    names = []
    for package in PACKAGES:
        src = ROOT / "packages" / f"betrue-{package}" / "src" / "betrue" / package
        names.append(f"betrue.{package}")
        for info in pkgutil.walk_packages([str(src)], prefix=f"betrue.{package}."):
            names.append(info.name)
    return sorted(names)


def test_versions_agree_with_the_version_file() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "versions.py"), "check"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


def test_version_drift_is_reported(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("versions", ROOT / "tools" / "versions.py")
    assert spec is not None
    assert spec.loader is not None
    versions = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(versions)
    problems = versions.drift("9.9.9")
    assert len(problems) >= 7
    assert any("pin betrue-config==" in line for line in problems)


def test_no_namespace_init_in_any_distribution() -> None:
    stray = list(ROOT.glob("packages/*/src/betrue/__init__.py"))
    assert stray == []


# Each module is imported in a process that has imported no betrue module before: a parent (run with
# -W error) loads the heavy third-party libraries once, then forks a child per module, so import cycles
# and import-time side effects of every module show up on their own at ~50 ms a module instead of ~1 s.
IMPORT_EACH = """
import json, os, sys, traceback
for heavy in ("aiohttp.web", "aiohttp", "pydantic", "pydantic_settings", "loguru", "opentelemetry.trace",
              "jsonschema_rs", "orjson", "jinja2", "jwt"):
    __import__(heavy)
failures = {}
for module in sys.argv[1:]:
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        try:
            __import__(module)
            os._exit(0)
        except BaseException:
            os.write(write, traceback.format_exc().encode())
            os._exit(1)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        error = pipe.read().decode()
    _, status = os.waitpid(pid, 0)
    if status != 0:
        failures[module] = error or f"exit status {status}"
print(json.dumps(failures))
"""


def test_every_module_imports_on_its_own_without_warnings() -> None:
    modules = betrue_modules()
    assert len(modules) > 30
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", IMPORT_EACH, *modules], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    failures = json.loads(result.stdout.strip().splitlines()[-1])
    assert failures == {}, "\n\n".join(f"import {name} failed:\n{error}" for name, error in failures.items())


def test_a_module_that_fails_to_import_is_reported(tmp_path: Path) -> None:
    broken = tmp_path / "broken_module.py"
    broken.write_text("import warnings\nwarnings.warn('side effect at import')\n")
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", IMPORT_EACH, "broken_module"],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
    )
    failures = json.loads(result.stdout.strip().splitlines()[-1])
    assert "side effect at import" in failures["broken_module"]


@pytest.mark.parametrize("package", PACKAGES)
def test_every_exported_name_resolves(package: str) -> None:
    module = importlib.import_module(f"betrue.{package}")
    missing = [name for name in getattr(module, "__all__", []) if not hasattr(module, name)]
    assert missing == []
