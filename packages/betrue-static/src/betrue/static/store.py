"""``StaticFiles``: assets by key, and the aiohttp handler that serves them from memory.

The handler never touches the disk: it finds the asset (a dict hit on the raw path for the
usual request, the key rules of ``betrue.static.keys`` otherwise), picks the representation
the client accepts, answers 304 / 206 / 416 where the headers ask for it, and otherwise
returns the prebuilt body and headers.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import quote

from aiohttp import web
from multidict import CIMultiDict

from betrue.static.assets import Asset, Variant
from betrue.static.keys import Case, file_key, normalize_prefix, request_key
from betrue.static.negotiation import encodings_preferred, etag_matches, modified_since, parse_range

__all__ = ["StaticFiles"]

_NEGOTIATION_CACHE_SIZE = 256


class StaticFiles:
    """In-memory files served under a prefix; ``handle`` is the aiohttp handler.

    ``replace`` swaps the whole set at once (a reload), so a request sees the old set or the new
    one, never a mix.

    Example:
        >>> from betrue.static.assets import AssetOptions, build_asset
        >>> files = StaticFiles("/assets")
        >>> files.replace([build_asset("css/app.css", b"body{}", 0.0, AssetOptions())])
        >>> files.lookup("/assets//css/app.css?v=1").key
        'css/app.css'
    """

    def __init__(self, prefix: str = "/", *, case: Case = "sensitive", index: str = "index.html") -> None:
        self.prefix = normalize_prefix(prefix)
        self.case: Case = case
        self.index = index
        self.assets: dict[str, Asset] = {}
        self._exact: dict[str, Asset] = {}
        self._encodings: dict[str, tuple[str, ...]] = {}

    def replace(self, assets: Iterable[Asset]) -> None:
        """Serve exactly ``assets`` from now on."""
        by_key: dict[str, Asset] = {}
        exact: dict[str, Asset] = {}
        for asset in assets:
            by_key[file_key(asset.key, self.case)] = asset
            url = self.prefix + quote(asset.key)
            exact[url] = asset
            if asset.key == self.index or asset.key.endswith("/" + self.index):
                folder = url[: -len(self.index)]
                exact[folder] = asset
                exact[folder.rstrip("/") or "/"] = asset
        self.assets, self._exact = by_key, exact

    def url(self, key: str) -> str:
        """The URL path a file is served at."""
        return self.prefix + quote(key.lstrip("/"))

    def lookup(self, raw_path: str) -> Asset | None:
        """The asset a raw request path (with its query, percent-encoded) names, or None."""
        asset = self._exact.get(raw_path)
        if asset is not None:
            return asset
        key = request_key(raw_path, self.prefix, self.case)
        if key is None:
            return None
        assets = self.assets
        asset = assets.get(key)
        if asset is None:
            index = file_key(self.index, self.case)
            asset = assets.get(f"{key}/{index}" if key else index)
        return asset

    def _preferred(self, accept_encoding: str) -> tuple[str, ...]:
        preferred = self._encodings.get(accept_encoding)
        if preferred is None:
            if len(self._encodings) >= _NEGOTIATION_CACHE_SIZE:  # bounded: header values are client-chosen
                self._encodings.clear()
            preferred = self._encodings[accept_encoding] = encodings_preferred(accept_encoding)
        return preferred

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Answer a GET or HEAD for a file of this set."""
        raw_path = request.raw_path
        asset = self._exact.get(raw_path)
        if asset is None:
            if "?" in raw_path:  # file(...) URLs carry ?v=: try the path alone before the full key rules
                asset = self._exact.get(raw_path.partition("?")[0])
            if asset is None:
                if not raw_path.startswith("/"):  # absolute-form request target: use the parsed path
                    raw_path = request.rel_url.raw_path_qs
                asset = self.lookup(raw_path)
                if asset is None:
                    return web.Response(status=404, text="404: Not Found")
        return self.respond(request, asset)

    def respond(self, request: web.Request, asset: Asset) -> web.StreamResponse:
        """The response for ``asset``: the accepted encoding, 304, 206/416, or the prebuilt 200."""
        headers = request.headers
        variant = asset.identity
        if asset.variants:
            accept = headers.get("Accept-Encoding")
            if accept:
                for encoding in self._preferred(accept):
                    found = asset.variants.get(encoding)
                    if found is not None:
                        variant = found
                        break
        condition = headers.get("If-None-Match")
        if condition is not None:
            if etag_matches(condition, asset.etags):
                return web.Response(status=304, headers=variant.not_modified)
        else:
            since = headers.get("If-Modified-Since")
            if since is not None and not modified_since(since, asset.mtime):
                return web.Response(status=304, headers=variant.not_modified)
        wanted = headers.get("Range")
        if wanted is not None:
            return _ranged(asset, wanted, headers.get("If-Range"))
        return web.Response(body=variant.body, headers=variant.headers)

    def add_routes(self, router: web.UrlDispatcher) -> None:
        """Route GET and HEAD under the prefix to ``handle``."""
        router.add_get(self.prefix + "{tail:.*}", self.handle)
        if self.prefix != "/":
            router.add_get(self.prefix.rstrip("/"), self.handle)


def _ranged(asset: Asset, wanted: str, if_range: str | None) -> web.StreamResponse:
    """A 206 with the requested bytes of the identity representation, a 416, or the whole file."""
    identity: Variant = asset.identity
    if if_range is not None and if_range != identity.etag and if_range != identity.headers["Last-Modified"]:
        return web.Response(body=identity.body, headers=identity.headers)
    size = len(identity.body)
    chosen = parse_range(wanted, size)
    if chosen is None:
        return web.Response(body=identity.body, headers=identity.headers)
    if chosen is False:
        headers = CIMultiDict(identity.not_modified)
        headers["Content-Range"] = f"bytes */{size}"
        return web.Response(status=416, headers=headers)
    first, last = chosen
    headers = CIMultiDict(identity.headers)
    headers["Content-Range"] = f"bytes {first}-{last}/{size}"
    return web.Response(status=206, body=identity.body[first : last + 1], headers=headers)
