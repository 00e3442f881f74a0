"""The examples in the docstrings run, so they cannot rot."""

import doctest
import importlib
import pkgutil

import pytest

import betrue.config

MODULES = ["betrue.config", *(f"betrue.config.{m.name}" for m in pkgutil.iter_modules(betrue.config.__path__))]


def test_every_module_is_listed() -> None:
    assert {"betrue.config.config", "betrue.config.spec", "betrue.config.docs", "betrue.config.markers"} <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    # Classes defined in an example resolve their annotations at once, as in a user's module.
    globs = {key: value for key, value in vars(module).items() if key != "annotations"}
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    for test in doctest.DocTestFinder().find(module, name, globs=globs):
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0


def test_exported_names_have_docstrings_with_examples() -> None:
    for name in betrue.config.__all__:
        obj = getattr(betrue.config, name)
        if name in {"EnvFile", "ConfigIssue", "ConfigResult", "EnvVar", "MarkerError"}:
            continue
        assert ">>>" in (obj.__doc__ or ""), name
