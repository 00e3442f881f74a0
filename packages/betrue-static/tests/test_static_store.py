"""Serving over real HTTP: key rules, traversal, ETag/304, HEAD, Range, encodings (betrue.static.store)."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path

import aiohttp
import brotli
import pytest

from betrue.server import Application
from betrue.static.testing import raw_request, serving

MakeApp = Callable[..., Application]

CSS = b"body { color: #333; }\n" * 200


@pytest.mark.parametrize(
    ("target", "body"),
    [
        ("/index.html", b"<h1>home</h1>\n"),
        ("/", b"<h1>home</h1>\n"),
        ("/css/App.css?v=123", CSS),
        ("/css/App.css?v=1#frag", CSS),
        ("//css///App.css", CSS),
        ("/css/App.css/", CSS),
        ("/%63ss/App.css", CSS),
        ("/guide", b"<h1>guide</h1>\n"),
        ("/guide/", b"<h1>guide</h1>\n"),
        ("/guide/?page=2", b"<h1>guide</h1>\n"),
        ("/guide//", b"<h1>guide</h1>\n"),
        ("http://localhost/css/App.css?x=1", CSS),
    ],
)
async def test_key_rules(make_app: MakeApp, site: Path, target: str, body: bytes) -> None:
    async with serving(make_app(site)) as url:
        reply = await raw_request(url, target)
    assert (reply.status, reply.body) == (200, body)


async def test_case_sensitive_by_default_and_insensitive_when_configured(make_app: MakeApp, site: Path) -> None:
    async with serving(make_app(site)) as url:
        assert (await raw_request(url, "/css/app.css")).status == 404
        assert (await raw_request(url, "/CSS/App.css")).status == 404
    async with serving(make_app(site, case="insensitive")) as url:
        for target in ("/css/app.css", "/CSS/APP.CSS", "/Css/App.css?x=1"):
            reply = await raw_request(url, target)
            assert (reply.status, reply.body) == (200, CSS)
        assert (await raw_request(url, "/GUIDE/")).body == b"<h1>guide</h1>\n"


async def test_under_a_prefix(make_app: MakeApp, site: Path) -> None:
    async with serving(make_app(site, prefix="/static")) as url:
        assert (await raw_request(url, "/static")).body == b"<h1>home</h1>\n"
        assert (await raw_request(url, "/static/")).body == b"<h1>home</h1>\n"
        assert (await raw_request(url, "/static/app.js")).status == 200
        assert (await raw_request(url, "/app.js")).status == 404
        assert (await raw_request(url, "/staticapp.js")).status == 404


TRAVERSALS = [
    "/../secret.txt",
    "/../../secret.txt",
    "/css/../../secret.txt",
    "/%2e%2e/secret.txt",
    "/%2E%2E/%2e%2e/secret.txt",
    "/css/%2e%2e/%2e%2e/secret.txt",
    "/..%2fsecret.txt",
    "/..%5csecret.txt",
    "/..\\secret.txt",
    "/%5c..%5csecret.txt",
    "/secret.txt%00.html",
    "/%00",
    "//{outside}/secret.txt",
    "/{outside}/secret.txt",
    "/%2F{outside}%2Fsecret.txt",
    "/link/secret.txt",
    "/leak.txt",
    "/%252e%252e/secret.txt",
    "/%c0%ae%c0%ae/secret.txt",
    "http://localhost/../secret.txt",
    "http://localhost/%2e%2e/secret.txt",
]


@pytest.mark.parametrize("template", TRAVERSALS)
async def test_traversal_attempts_get_404_and_nothing_outside_the_root(
    make_app: MakeApp, tmp_path: Path, site: Path, template: str
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("TOP SECRET")
    (tmp_path / "secret.txt").write_text("TOP SECRET")
    (site / "link").symlink_to(outside, target_is_directory=True)
    (site / "leak.txt").symlink_to(outside / "secret.txt")
    target = template.format(outside=str(outside).lstrip("/"))
    async with serving(make_app(site)) as url:
        reply = await raw_request(url, target)
    assert reply.status in (400, 404)
    assert b"SECRET" not in reply.body


async def test_etag_and_if_none_match_304(make_app: MakeApp, site: Path) -> None:
    async with serving(make_app(site)) as url, aiohttp.ClientSession(auto_decompress=False) as session:
        async with session.get(f"{url}/app.js") as first:
            etag = first.headers["ETag"]
            assert first.headers["Cache-Control"] == "no-cache"
            assert "Last-Modified" in first.headers
        async with session.get(f"{url}/app.js", headers={"If-None-Match": etag}) as again:
            assert again.status == 304
            assert await again.read() == b""
            assert again.headers["ETag"] == etag
        async with session.get(f"{url}/app.js", headers={"If-None-Match": '"other"'}) as changed:
            assert changed.status == 200
        async with session.get(f"{url}/app.js", headers={"If-Modified-Since": first.headers["Last-Modified"]}) as since:
            assert since.status == 304


async def test_cache_control_from_config(make_app: MakeApp, site: Path) -> None:
    async with serving(make_app(site, cache_control="public, max-age=31536000, immutable")) as url:
        reply = await raw_request(url, "/app.js")
    assert reply.headers["cache-control"] == "public, max-age=31536000, immutable"


async def test_head_has_the_headers_and_no_body(make_app: MakeApp, site: Path) -> None:
    async with serving(make_app(site)) as url:
        get = await raw_request(url, "/css/App.css")
        head = await raw_request(url, "/css/App.css", method="HEAD")
    assert head.status == 200
    assert head.body == b""
    assert head.headers["content-length"] == str(len(CSS)) == get.headers["content-length"]
    assert head.headers["etag"] == get.headers["etag"]
    assert head.headers["content-type"] == "text/css; charset=utf-8"


async def test_range_requests(make_app: MakeApp, site: Path) -> None:
    async with serving(make_app(site)) as url:
        part = await raw_request(url, "/css/App.css", {"Range": "bytes=10-19", "Accept-Encoding": "gzip"})
        assert part.status == 206
        assert part.body == CSS[10:20]
        assert part.headers["content-range"] == f"bytes 10-19/{len(CSS)}"
        assert "content-encoding" not in part.headers  # ranges are of the file itself
        tail = await raw_request(url, "/css/App.css", {"Range": "bytes=-5"})
        assert (tail.status, tail.body) == (206, CSS[-5:])
        outside = await raw_request(url, "/css/App.css", {"Range": "bytes=999999-"})
        assert outside.status == 416
        assert outside.headers["content-range"] == f"bytes */{len(CSS)}"
        several = await raw_request(url, "/css/App.css", {"Range": "bytes=0-1,5-6"})
        assert (several.status, several.body) == (200, CSS)
        etag = part.headers["etag"]
        same = await raw_request(url, "/css/App.css", {"Range": "bytes=0-3", "If-Range": etag})
        assert (same.status, same.body) == (206, CSS[:4])
        stale = await raw_request(url, "/css/App.css", {"Range": "bytes=0-3", "If-Range": '"old"'})
        assert (stale.status, stale.body) == (200, CSS)


async def test_gzip_only_when_accepted_and_brotli_preferred(make_app: MakeApp, site: Path) -> None:
    async with serving(make_app(site)) as url:
        plain = await raw_request(url, "/css/App.css")
        zipped = await raw_request(url, "/css/App.css", {"Accept-Encoding": "gzip"})
        best = await raw_request(url, "/css/App.css", {"Accept-Encoding": "gzip, deflate, br"})
        refused = await raw_request(url, "/css/App.css", {"Accept-Encoding": "gzip;q=0, deflate"})
    assert "content-encoding" not in plain.headers
    assert plain.body == CSS
    assert zipped.headers["content-encoding"] == "gzip"
    assert gzip.decompress(zipped.body) == CSS
    assert best.headers["content-encoding"] == "br"
    assert brotli.decompress(best.body) == CSS
    assert "content-encoding" not in refused.headers
    assert refused.body == CSS
    assert all(reply.headers["vary"] == "Accept-Encoding" for reply in (plain, zipped, best))
    assert len({plain.headers["etag"], zipped.headers["etag"], best.headers["etag"]}) == 3
    assert int(zipped.headers["content-length"]) == len(zipped.body) < len(CSS)


async def test_304_for_a_compressed_representation(make_app: MakeApp, site: Path) -> None:
    async with serving(make_app(site)) as url:
        zipped = await raw_request(url, "/css/App.css", {"Accept-Encoding": "gzip"})
        again = await raw_request(
            url, "/css/App.css", {"Accept-Encoding": "gzip", "If-None-Match": zipped.headers["etag"]}
        )
    assert again.status == 304
    assert again.headers["content-encoding"] == "gzip"


async def test_only_get_and_head(make_app: MakeApp, site: Path) -> None:
    async with serving(make_app(site)) as url:
        reply = await raw_request(url, "/app.js", method="POST")
    assert reply.status == 405
