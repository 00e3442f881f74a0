"""Swagger UI 5 from the ``swagger-ui-bundle-v2`` package (no CDN), and the page that starts it.

The package ships Swagger UI's dist folder (``swagger_ui_bundle.swagger_ui_path``); only the files
the page loads are kept in memory. Swagger UI 5 is needed to render OpenAPI 3.1.
"""

from __future__ import annotations

import functools
import html
import json
import os
import re
from pathlib import Path

from betrue.static.assets import Asset, AssetOptions, build_asset

__all__ = ["SWAGGER_FILES", "swagger_assets", "swagger_page", "swagger_ui_dir", "swagger_ui_version"]

SWAGGER_FILES = (
    "swagger-ui-bundle.js",
    "swagger-ui.css",
    "favicon-32x32.png",
    "favicon-16x16.png",
    "oauth2-redirect.html",
    "oauth2-redirect.js",
)
"""The files of Swagger UI's dist folder the docs page uses (the rest, source maps included, is left out)."""

_VERSION = re.compile(r"swagger-ui-(\d+)\.(\d+)\.(\d+)$")


def swagger_ui_dir() -> Path:
    """The folder holding Swagger UI's dist files; RuntimeError when missing or older than 5.

    Example:
        >>> (swagger_ui_dir() / "swagger-ui-bundle.js").is_file()
        True
    """
    try:
        import swagger_ui_bundle  # type: ignore[import-untyped]
    except ImportError as error:  # pragma: no cover - a dependency of betrue-static
        raise RuntimeError("the API docs need Swagger UI: pip install swagger-ui-bundle-v2") from error
    folder = Path(os.fspath(swagger_ui_bundle.swagger_ui_path))
    match = _VERSION.search(folder.name)
    if match is None or int(match.group(1)) < 5:
        # swagger-ui-bundle (4.x, no OpenAPI 3.1) installs the same import name: say which one is there.
        raise RuntimeError(
            f"Swagger UI 5 is needed for OpenAPI 3.1, found {folder.name}: pip install swagger-ui-bundle-v2"
        )
    return folder


def swagger_ui_version() -> str:
    """The bundled Swagger UI version.

    Example:
        >>> swagger_ui_version().split(".")[0]
        '5'
    """
    return swagger_ui_dir().name.removeprefix("swagger-ui-")


def swagger_page(*, title: str, spec_url: str, assets_url: str) -> bytes:
    """The HTML page that loads Swagger UI from ``assets_url`` and the document at ``spec_url``.

    The start-up script is a separate file (``docs-init.js``) so the page works under a strict
    Content-Security-Policy; the document URL travels in a data attribute.
    """
    config = html.escape(json.dumps({"url": spec_url, "oauth2": assets_url + "oauth2-redirect.html"}), quote=True)
    base = html.escape(assets_url, quote=True)
    page = f"""<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{html.escape(title)}</title>
  <link rel="stylesheet" href="{base}swagger-ui.css">
  <link rel="icon" type="image/png" href="{base}favicon-32x32.png" sizes="32x32">
  <link rel="icon" type="image/png" href="{base}favicon-16x16.png" sizes="16x16">
  <style>body {{ margin: 0; }}</style>
</head>
<body>
  <div id="swagger-ui" data-config="{config}"></div>
  <script src="{base}swagger-ui-bundle.js"></script>
  <script src="{base}docs-init.js"></script>
</body>
</html>
"""
    return page.encode("utf-8")


_INIT_SCRIPT = b"""// Starts Swagger UI with the document URL the page carries (betrue.static DocsService).
window.addEventListener("load", function () {
  var root = document.getElementById("swagger-ui");
  var config = JSON.parse(root.getAttribute("data-config"));
  window.ui = SwaggerUIBundle({
    url: config.url,
    dom_id: "#swagger-ui",
    deepLinking: true,
    displayRequestDuration: true,
    persistAuthorization: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    oauth2RedirectUrl: new URL(config.oauth2, window.location.origin).href
  });
});
"""


@functools.lru_cache(maxsize=4)
def _bundled(folder: Path, options: AssetOptions) -> tuple[Asset, ...]:
    # Compressing the 1.5 MB bundle takes a fraction of a second: done once per process and options.
    assets = []
    for name in SWAGGER_FILES:
        path = folder / name
        if path.is_file():
            assets.append(build_asset(name, path.read_bytes(), path.stat().st_mtime, options))
    return tuple(assets)


def swagger_assets(options: AssetOptions, *, title: str, spec_url: str, assets_url: str) -> list[Asset]:
    """Swagger UI's files, the page (``index.html``) and its start-up script, as assets."""
    folder = swagger_ui_dir()
    page = build_asset("index.html", swagger_page(title=title, spec_url=spec_url, assets_url=assets_url), 0.0, options)
    script = build_asset("docs-init.js", _INIT_SCRIPT, 0.0, options)
    return [*_bundled(folder, options), page, script]
