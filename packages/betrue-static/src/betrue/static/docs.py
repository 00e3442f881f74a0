"""``DocsService``: Swagger UI at ``/docs/``, the OpenAPI 3.1 and AsyncAPI 3.0 documents beside it.

Everything is served from memory like any static file (ETag, 304, gzip/brotli); Swagger UI's
files come from a PyPI package, so the docs work offline. The documents are generated from the
app's commands and declared events on first request and again whenever the commands change.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from betrue.config import Config, env
from betrue.server import Adapter, asyncapi_document, encode_json, openapi_document
from betrue.static.assets import Asset, AssetOptions, build_asset
from betrue.static.keys import normalize_prefix
from betrue.static.store import StaticFiles
from betrue.static.swagger import swagger_assets

if TYPE_CHECKING:
    from betrue.server import Application

__all__ = ["DocsConfig", "DocsService"]


class DocsConfig(Config):
    """API docs"""

    prefix: str = env("DOCS_PREFIX", "/docs", description="URL path of Swagger UI and the documents", pattern=r"^/")
    title: str = env("DOCS_TITLE", "", description="Title of the documents (default: the application's name)")
    version: str = env("DOCS_VERSION", "1.0.0", description="Version written in the documents' info")
    ws_path: str = env("DOCS_WS_PATH", "/ws", description="WebSocket path named in the AsyncAPI document")
    cache_control: str = env("DOCS_CACHE_CONTROL", "no-cache", description="Cache-Control of the docs' responses")


class DocsService(Adapter):
    """Serves ``<DOCS_PREFIX>/`` (Swagger UI), ``openapi.json`` and ``asyncapi.json``.

    It is an adapter only to be handed the application once it serves; it needs the HTTP
    adapter (service ``http``). "Try it out" calls the same server: the document has no
    ``servers`` entry, so Swagger UI uses the origin it was loaded from.

    Example:
        >>> from betrue.server import Application
        >>> app = Application("shop")
        >>> _ = app.add_service(DocsService)  # /docs/, /docs/openapi.json, /docs/asyncapi.json
    """

    name = "docs"
    deps = ("http",)
    config_class = DocsConfig

    def __init__(self, config: DocsConfig, http: Any, **deps: Any) -> None:
        super().__init__(config, http=http, **deps)
        self.config: DocsConfig = config
        self.http = http
        self.app: Application | None = None
        self.prefix = normalize_prefix(config.prefix)
        self.files = StaticFiles(self.prefix)
        self.options = AssetOptions(cache_control=config.cache_control)
        self._documents: dict[str, tuple[tuple[int, ...], Asset]] = {}

    async def start(self) -> DocsService:
        """Load Swagger UI's files and add the routes (before the HTTP server listens)."""
        assets = await asyncio.to_thread(self._assets, self.config.title or "API docs")
        self.files.replace(assets)
        router: web.UrlDispatcher = self.http.web.router
        router.add_get(self.prefix + "openapi.json", self._serve_openapi)
        router.add_get(self.prefix + "asyncapi.json", self._serve_asyncapi)
        self.files.add_routes(router)
        return self

    async def serve(self, app: Application) -> None:
        """Remember the application whose documents to serve."""
        if not self.config.title:
            self.files.replace(self._assets(f"{app.name} API docs"))
        self.app = app

    def _assets(self, title: str) -> list[Asset]:
        return swagger_assets(self.options, title=title, spec_url=self.prefix + "openapi.json", assets_url=self.prefix)

    def openapi(self) -> dict[str, Any]:
        """The OpenAPI document, as served."""
        app = self._require_app()
        api_prefix = getattr(self.http.config, "api_prefix", "/api")
        return openapi_document(
            app,
            title=self.config.title or app.name,
            version=self.config.version,
            api_prefix=api_prefix,
            description=(
                f"Commands of {app.name}: `POST {api_prefix}/<code>` with the params as JSON; every answer is an "
                f"envelope. Events and the WebSocket protocol: [asyncapi.json]({self.prefix}asyncapi.json)."
            ),
        )

    def asyncapi(self) -> dict[str, Any]:
        """The AsyncAPI document, as served."""
        app = self._require_app()
        return asyncapi_document(
            app, title=self.config.title or app.name, version=self.config.version, ws_path=self.config.ws_path
        )

    def _require_app(self) -> Application:
        if self.app is None:
            raise RuntimeError("the docs are served once the application serves")
        return self.app

    def _document(self, name: str, build: Callable[[], dict[str, Any]]) -> Asset:
        # Rebuilt when the set of commands changes (a gateway may add commands after start).
        app = self._require_app()
        stamp = tuple(id(command) for command in app.commands.values())
        cached = self._documents.get(name)
        if cached is None or cached[0] != stamp:
            asset = build_asset(name, encode_json(build()), time.time(), self.options)
            cached = self._documents[name] = (stamp, asset)
        return cached[1]

    async def _serve_openapi(self, request: web.Request) -> web.StreamResponse:
        if self.app is None:
            return web.Response(status=503, text="503: starting")
        return self.files.respond(request, self._document("openapi.json", self.openapi))

    async def _serve_asyncapi(self, request: web.Request) -> web.StreamResponse:
        if self.app is None:
            return web.Response(status=503, text="503: starting")
        return self.files.respond(request, self._document("asyncapi.json", self.asyncapi))
