"""The examples in betrue.static's docstrings run, and every exported name shows one."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import betrue.static

MODULES = ["betrue.static", *(f"betrue.static.{m.name}" for m in pkgutil.iter_modules(betrue.static.__path__))]
NO_EXAMPLE = {"Asset", "Variant", "AssetOptions", "LoadOptions", "MemoryBudgetError", "TemplateError", "DocsConfig"}


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    for test in doctest.DocTestFinder().find(module, name):
        runner.run(test)
    assert runner.summarize(verbose=False).failed == 0


def test_exported_names_have_docstrings_with_examples() -> None:
    missing = [
        name
        for name in betrue.static.__all__
        if name not in NO_EXAMPLE and ">>>" not in (getattr(betrue.static, name).__doc__ or "")
    ]
    assert missing == []
