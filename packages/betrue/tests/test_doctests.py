"""The examples in docstrings run: every module of every package, imported under its real name."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

PACKAGES = ("betrue.config", "betrue.server", "betrue.static", "betrue.ws", "betrue.nats", "betrue.postgres")


def _modules() -> list[str]:
    names: list[str] = []
    for package in PACKAGES:
        module = importlib.import_module(package)
        names.append(package)
        names += [info.name for info in pkgutil.walk_packages(module.__path__, package + ".")]
    return names


MODULES = _modules()


def test_every_package_is_walked() -> None:
    for package in PACKAGES:
        assert package in MODULES
    assert "betrue.server.router" in MODULES
    assert "betrue.server.client._client" in MODULES


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name: str) -> None:
    module = importlib.import_module(name)
    report: list[str] = []
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    for test in doctest.DocTestFinder().find(module, name):
        runner.run(test, compileflags=0, out=report.append)  # as typed at a prompt: no __future__ of the module
    results = runner.summarize(verbose=False)
    assert results.failed == 0, "".join(report)
