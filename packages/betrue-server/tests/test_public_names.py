"""Public names: every one resolves, from the module the map says; subpackages answer as their modules did."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

import betrue.server as server

SUBPACKAGES = (
    "betrue.server.auth",
    "betrue.server.client",
    "betrue.server.docs",
    "betrue.server.gateway",
    "betrue.server.observability",
    "betrue.server.streams",
)


def test_every_name_of_betrue_server_resolves() -> None:
    missing = [name for name in server.__all__ if getattr(server, name, None) is None]
    assert missing == []
    assert sorted(dir(server)) == sorted(server.__all__)


def test_an_unknown_name_is_an_attribute_error_naming_it() -> None:
    with pytest.raises(AttributeError, match="has no attribute 'Nothing'"):
        _ = server.Nothing


@pytest.mark.parametrize("package", SUBPACKAGES)
def test_every_name_of_a_subpackage_resolves_and_dir_lists_them(package: str) -> None:
    module = importlib.import_module(package)
    exported: list[str] = module.__all__
    assert [name for name in exported if getattr(module, name, None) is None] == []
    assert set(exported) <= set(dir(module))
    with pytest.raises(AttributeError):
        _ = module.NotAName


@pytest.mark.parametrize(
    ("name", "module"),
    [
        ("Client", "betrue.server.client._client"),
        ("ClientConfig", "betrue.server.client._config"),
        ("Policy", "betrue.server.client._resilience"),
        ("Gateway", "betrue.server.gateway._gateway"),
        ("Telemetry", "betrue.server.observability._telemetry"),
        ("openapi_document", "betrue.server.docs._openapi"),
        ("asyncapi_document", "betrue.server.docs._asyncapi"),
        ("HttpTransport", "betrue.server.client.transports.http"),
        ("Application", "betrue.server.application"),
    ],
)
def test_moved_names_are_the_same_objects_through_every_path(name: str, module: str) -> None:
    assert getattr(server, name) is getattr(importlib.import_module(module), name)


def test_the_client_package_answers_what_the_client_module_did() -> None:
    from betrue.server.client import BoundClient, Client, MetaHook

    assert Client.__module__ == "betrue.server.client._client"
    assert BoundClient.__name__ == "BoundClient"
    assert MetaHook is not None


def test_auth_names_load_on_first_use_and_bring_pyjwt_only_then() -> None:
    code = (
        "import sys\n"
        "import betrue.server.auth as auth\n"
        "assert 'jwt' not in sys.modules, 'importing the package loaded PyJWT'\n"
        "auth.Rule\n"
        "assert 'jwt' not in sys.modules, 'a rule needs no PyJWT'\n"
        "auth.issue_token\n"
        "assert 'jwt' in sys.modules\n"
        "print('ok')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_use_auth_adds_its_client_middleware_through_the_public_method() -> None:
    from betrue.server import Application
    from betrue.server.auth import JwtAuthenticator, use_auth

    app = Application("secured", http=False, env_file=None)
    before = len(app.client.middlewares)
    use_auth(app, JwtAuthenticator)
    assert len(app.client.middlewares) == before + 1
    assert "_auth/identify" in app.commands
