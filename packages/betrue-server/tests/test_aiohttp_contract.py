"""The private parts of aiohttp the HTTP adapter relies on still exist in the installed aiohttp.

``adapters/_http_server.py`` subclasses aiohttp's ``RequestHandler`` and ``BaseSite`` and reads some of
their private attributes (a header deadline, a graceful drain). aiohttp may rename them in any minor
release: the dependency is bounded below the next minor, and this test says what to check before the
bound moves.
"""

from __future__ import annotations

import asyncio
import inspect
import tomllib
from pathlib import Path

from aiohttp import __version__ as aiohttp_version
from aiohttp import web
from packaging.requirements import Requirement

from betrue.server.adapters._http_server import HttpProtocol, ListeningSite

HANDLER_ATTRIBUTES = (
    "_request_count",  # a request was parsed: stop the header clock
    "_loop",
    "_messages",  # parsed requests not yet handled: not idle
    "_request_in_progress",
    "_current_request",
    "_lingering_time",  # cut short when the connection is hung up on
    "_waiter",  # the keep-alive wait: an idle connection is closed at once on drain
)
HANDLER_METHODS = ("data_received", "connection_lost", "finish_response", "handle_error", "log_exception")
SITE_ATTRIBUTES = ("_runner", "_server")


async def _ok(request: web.BaseRequest) -> web.StreamResponse:
    return web.Response()


async def test_the_request_handler_still_has_the_attributes_the_adapter_reads() -> None:
    handler = web.RequestHandler(web.Server(_ok), loop=asyncio.get_running_loop())
    missing = [name for name in HANDLER_ATTRIBUTES if not hasattr(handler, name)]
    assert missing == [], f"aiohttp {aiohttp_version} lacks {missing}: update adapters/_http_server.py"


def test_every_method_the_protocol_overrides_exists_on_aiohttp_with_the_same_shape() -> None:
    for name in HANDLER_METHODS:
        assert name in vars(HttpProtocol), f"the adapter no longer overrides {name}: update this list"
        base = getattr(web.RequestHandler, name, None)
        assert base is not None, f"aiohttp {aiohttp_version} has no RequestHandler.{name}: the override is dead"
        assert inspect.iscoroutinefunction(base) == inspect.iscoroutinefunction(getattr(HttpProtocol, name))


async def test_the_site_still_has_the_attributes_the_listening_site_uses() -> None:
    runner = web.AppRunner(web.Application())
    await runner.setup()
    try:
        site = ListeningSite(runner, "127.0.0.1", 0, header_timeout=1.0)
        missing = [name for name in SITE_ATTRIBUTES if not hasattr(site, name)]
        assert missing == []
        assert runner.server is not None
        assert hasattr(runner.server, "connections")
    finally:
        await runner.cleanup()


def test_the_installed_aiohttp_is_inside_the_declared_bounds() -> None:
    pyproject = Path(__file__).resolve().parents[1] / "pyproject.toml"
    dependencies: list[str] = tomllib.loads(pyproject.read_text())["project"]["dependencies"]
    requirement = next(Requirement(text) for text in dependencies if text.startswith("aiohttp"))
    assert any(spec.operator == "<" for spec in requirement.specifier), "aiohttp needs an upper bound"
    assert requirement.specifier.contains(aiohttp_version)


async def test_a_replaced_server_handler_is_the_one_new_connections_call() -> None:
    """The adapter puts its Host/header guard in front of ``Server.request_handler`` (no middleware)."""

    async def guarded(request: web.BaseRequest) -> web.StreamResponse:
        return web.Response(text="guarded")

    server = web.Server(_ok)
    server.request_handler = guarded
    handler = web.RequestHandler(server, loop=asyncio.get_running_loop())
    assert handler._request_handler is guarded
