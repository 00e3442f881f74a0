"""Assets: content types, ETags, compressed copies and prebuilt headers (betrue.static.assets)."""

from __future__ import annotations

import gzip
import random

import brotli
import pytest

from betrue.static.assets import AssetOptions, build_asset, content_type, is_compressible


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("index.html", "text/html; charset=utf-8"),
        ("app.JS", "text/javascript; charset=utf-8"),
        ("data.json", "application/json; charset=utf-8"),
        ("logo.svg", "image/svg+xml; charset=utf-8"),
        ("font.woff2", "font/woff2"),
        ("photo.jpeg", "image/jpeg"),
        ("module.wasm", "application/wasm"),
        ("README", "application/octet-stream"),
        (".hidden", "application/octet-stream"),
    ],
)
def test_content_type(name: str, kind: str) -> None:
    assert content_type(name) == kind


def test_compressible_types() -> None:
    assert is_compressible("text/css; charset=utf-8")
    assert is_compressible("image/svg+xml")
    assert not is_compressible("image/png")
    assert not is_compressible("font/woff2")


def test_compressible_asset_gets_gzip_and_brotli_copies_that_decode_to_the_file() -> None:
    data = b"body { margin: 0 }\n" * 300
    asset = build_asset("site.css", data, 1_700_000_000.0, AssetOptions())
    assert gzip.decompress(asset.variants["gzip"].body) == data
    assert brotli.decompress(asset.variants["br"].body) == data
    assert asset.variants["gzip"].headers["Content-Encoding"] == "gzip"
    assert asset.identity.headers["Vary"] == "Accept-Encoding"
    assert asset.held == len(data) + sum(len(v.body) for v in asset.variants.values())


def test_each_representation_has_its_own_strong_etag() -> None:
    asset = build_asset("site.css", b"p { color: red }\n" * 100, 0.0, AssetOptions())
    tags = [asset.identity.etag, asset.variants["gzip"].etag, asset.variants["br"].etag]
    assert len(set(tags)) == 3
    assert all(tag.startswith('"') and tag.endswith('"') for tag in tags)
    assert asset.etags == frozenset(tags)


def test_same_content_same_etag_changed_content_new_etag() -> None:
    first = build_asset("a.txt", b"one", 1.0, AssetOptions())
    again = build_asset("a.txt", b"one", 2.0, AssetOptions())
    changed = build_asset("a.txt", b"two", 1.0, AssetOptions())
    assert first.identity.etag == again.identity.etag != changed.identity.etag


@pytest.mark.parametrize(
    ("name", "data", "options"),
    [
        ("logo.png", b"\x89PNG" + b"\x00" * 5000, AssetOptions()),
        ("tiny.css", b"a{}", AssetOptions()),
        ("site.css", b"p{}" * 500, AssetOptions(compress=False)),
        ("random.txt", random.Random(7).randbytes(600), AssetOptions()),
    ],
)
def test_no_copies_for_binary_tiny_disabled_or_incompressible(name: str, data: bytes, options: AssetOptions) -> None:
    asset = build_asset(name, data, 0.0, options)
    assert asset.variants == {}
    assert "Vary" not in asset.identity.headers


def test_headers_carry_cache_control_last_modified_and_nosniff() -> None:
    asset = build_asset("a.txt", b"x", 0.0, AssetOptions(cache_control="public, max-age=60"))
    headers = asset.identity.headers
    assert headers["Cache-Control"] == "public, max-age=60"
    assert headers["Last-Modified"] == "Thu, 01 Jan 1970 00:00:00 GMT"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Accept-Ranges"] == "bytes"
    assert "Content-Type" not in asset.identity.not_modified
    assert asset.identity.not_modified["ETag"] == asset.identity.etag
