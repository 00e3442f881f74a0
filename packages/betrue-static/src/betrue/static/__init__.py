"""betrue.static: files served from memory, rendered templates, and the API docs (Swagger UI).

Example:
    >>> from betrue.server import Application
    >>> from betrue.static import DocsService, StaticService
    >>> app = Application("site")
    >>> _ = app.add_service(StaticService, config={"root": "public", "prefix": "/"})
    >>> _ = app.add_service(DocsService)  # Swagger UI at /docs/, /docs/openapi.json, /docs/asyncapi.json
"""

from betrue.static.assets import Asset, AssetOptions, Variant, build_asset, content_type
from betrue.static.config import StaticConfig
from betrue.static.docs import DocsConfig, DocsService
from betrue.static.keys import file_key, normalize_prefix, request_key, template_target
from betrue.static.loader import LoadOptions, load_assets
from betrue.static.service import StaticService
from betrue.static.sizes import MemoryBudgetError, human_size
from betrue.static.store import StaticFiles
from betrue.static.swagger import swagger_ui_version
from betrue.static.templates import TemplateError

__all__ = [
    "Asset",
    "AssetOptions",
    "DocsConfig",
    "DocsService",
    "LoadOptions",
    "MemoryBudgetError",
    "StaticConfig",
    "StaticFiles",
    "StaticService",
    "TemplateError",
    "Variant",
    "build_asset",
    "content_type",
    "file_key",
    "human_size",
    "load_assets",
    "normalize_prefix",
    "request_key",
    "swagger_ui_version",
    "template_target",
]
