"""An asset: one file's bytes with everything a response needs, computed once at start.

Each asset holds its representations (identity, gzip, brotli) with their ETag and prebuilt
header maps, so serving one is a dict lookup and a ``web.Response`` from ready parts.
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Any

from multidict import CIMultiDict, CIMultiDictProxy

__all__ = ["Asset", "AssetOptions", "Variant", "build_asset", "content_type", "is_compressible"]

try:  # brotli is optional (the "brotli" extra): without it only gzip copies are kept
    import brotli as _brotli

    _BROTLI: Any = _brotli
except ImportError:  # pragma: no cover - depends on the environment
    _BROTLI = None

# Python's mimetypes reads /etc/mime.types, which differs between machines: the web's common
# types are fixed here so a response never depends on the host.
_TYPES = {
    ".html": "text/html",
    ".htm": "text/html",
    ".css": "text/css",
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".json": "application/json",
    ".map": "application/json",
    ".webmanifest": "application/manifest+json",
    ".txt": "text/plain",
    ".md": "text/markdown",
    ".csv": "text/csv",
    ".xml": "application/xml",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".avif": "image/avif",
    ".ico": "image/x-icon",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".ttf": "font/ttf",
    ".otf": "font/otf",
    ".wasm": "application/wasm",
    ".pdf": "application/pdf",
    ".zip": "application/zip",
    ".gz": "application/gzip",
    ".mp4": "video/mp4",
    ".webm": "video/webm",
    ".mp3": "audio/mpeg",
}
_TEXTUAL = ("text/", "application/json", "application/manifest+json", "application/xml", "image/svg+xml")
_COMPRESSIBLE = (*_TEXTUAL, "application/wasm", "font/ttf", "font/otf", "image/x-icon")


def content_type(key: str) -> str:
    """The Content-Type for a file name, with ``charset=utf-8`` for text.

    Example:
        >>> content_type("app.css"), content_type("logo.png"), content_type("blob")
        ('text/css; charset=utf-8', 'image/png', 'application/octet-stream')
    """
    name = key.rsplit("/", 1)[-1].lower()
    dot = name.rfind(".")
    kind = _TYPES.get(name[dot:]) if dot > 0 else None
    if kind is None:
        kind = mimetypes.guess_type(name, strict=False)[0] or "application/octet-stream"
    return f"{kind}; charset=utf-8" if kind.startswith(_TEXTUAL) else kind


def is_compressible(kind: str) -> bool:
    """Whether a Content-Type is worth compressing (text, JSON, SVG, wasm, uncompressed fonts)."""
    return kind.startswith(_COMPRESSIBLE)


@dataclass(frozen=True, slots=True)
class AssetOptions:
    """How assets are built: response headers and compression settings (from ``StaticConfig``)."""

    cache_control: str = "no-cache"
    compress: bool = True
    compress_min_size: int = 256
    gzip_level: int = 9
    brotli_quality: int = 9


@dataclass(frozen=True, slots=True)
class Variant:
    """One representation of an asset: its bytes, its ETag and its prebuilt response headers."""

    body: bytes
    encoding: str | None
    etag: str
    headers: CIMultiDictProxy[str]
    """Headers of a 200 answer (Content-Length is set by aiohttp from the body)."""
    not_modified: CIMultiDictProxy[str]
    """Headers of a 304 answer."""


@dataclass(frozen=True, slots=True)
class Asset:
    """A loaded file ready to serve. ``variants`` maps an encoding ("br", "gzip") to its copy."""

    key: str
    identity: Variant
    variants: dict[str, Variant] = field(default_factory=dict)
    etags: frozenset[str] = frozenset()
    mtime: float = 0.0
    digest: str = ""
    """Hex SHA-256 of the content (``file(path, hash=True)`` uses its start)."""

    @property
    def size(self) -> int:
        return len(self.identity.body)

    @property
    def held(self) -> int:
        """Bytes this asset keeps in memory, copies included."""
        return self.size + sum(len(variant.body) for variant in self.variants.values())


def _variant(body: bytes, encoding: str | None, etag: str, base: dict[str, str]) -> Variant:
    headers = CIMultiDict(base)
    headers["ETag"] = etag
    if encoding is not None:
        headers["Content-Encoding"] = encoding
    not_modified = CIMultiDict((name, value) for name, value in headers.items() if name != "Content-Type")
    return Variant(body, encoding, etag, CIMultiDictProxy(headers), CIMultiDictProxy(not_modified))


def build_asset(key: str, data: bytes, mtime: float, options: AssetOptions) -> Asset:
    """Build an asset: content type, ETags, Last-Modified, compressed copies that are worth it.

    A copy is kept only when it saves at least a tenth of the size. Each representation has its
    own strong ETag (``"<hash>"``, ``"<hash>-gzip"``, ``"<hash>-br"``), as RFC 9110 asks.

    Example:
        >>> asset = build_asset("a.css", b"body { color: red }" * 100, 0.0, AssetOptions())
        >>> sorted(asset.variants), asset.identity.headers["Content-Type"]
        (['br', 'gzip'], 'text/css; charset=utf-8')
    """
    digest = hashlib.sha256(data).hexdigest()
    kind = content_type(key)
    tag = digest[:32]
    copies: dict[str, bytes] = {}
    if options.compress and len(data) >= options.compress_min_size and is_compressible(kind):
        copies["gzip"] = gzip.compress(data, compresslevel=options.gzip_level, mtime=0)
        if _BROTLI is not None:
            copies["br"] = _BROTLI.compress(data, quality=options.brotli_quality)
        copies = {name: body for name, body in copies.items() if len(body) <= len(data) * 0.9}
    base = {
        "Content-Type": kind,
        "Cache-Control": options.cache_control,
        "Last-Modified": formatdate(mtime, usegmt=True),
        "Accept-Ranges": "bytes",
        "X-Content-Type-Options": "nosniff",
    }
    if copies:
        base["Vary"] = "Accept-Encoding"
    identity = _variant(data, None, f'"{tag}"', base)
    variants = {name: _variant(body, name, f'"{tag}-{name}"', base) for name, body in copies.items()}
    etags = frozenset({identity.etag, *(variant.etag for variant in variants.values())})
    return Asset(key, identity, variants, etags, mtime, digest)
