"""The workspace holds together: one version everywhere, every module imports cleanly on its own."""

from __future__ import annotations

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
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import versions
    finally:
        sys.path.pop(0)
    problems = versions.drift("9.9.9")
    assert len(problems) >= 7
    assert any("pin betrue-config==" in line for line in problems)


def test_no_namespace_init_in_any_distribution() -> None:
    stray = list(ROOT.glob("packages/*/src/betrue/__init__.py"))
    assert stray == []


@pytest.mark.parametrize("module", betrue_modules())
def test_every_module_imports_in_a_fresh_interpreter_without_warnings(module: str) -> None:
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", f"import {module}"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, f"import {module} failed:\n{result.stderr}"
