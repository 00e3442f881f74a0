"""DocsService: Swagger UI, openapi.json and asyncapi.json served from memory (betrue.static.docs)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
import orjson
from openapi_spec_validator import validate

from betrue.server import Application, Context, Group
from betrue.static import DocsService, StaticService, swagger_ui_version
from betrue.static.swagger import swagger_ui_dir
from betrue.static.testing import raw_request, serving


async def _json(url: str) -> Any:
    async with aiohttp.ClientSession() as session, session.get(url) as reply:
        assert reply.status == 200
        assert reply.headers["Content-Type"] == "application/json; charset=utf-8"
        return orjson.loads(await reply.read())


async def test_openapi_json_is_served_and_valid(sample_app: Application) -> None:
    async with serving(sample_app) as url:
        document = await _json(f"{url}/docs/openapi.json")
    validate(document)
    assert document["info"]["title"] == "sample"
    assert sorted(document["paths"]) == ["/api/shop/add", "/api/shop/count", "/api/shop/get", "/api/util/echo"]
    assert "asyncapi.json" in document["info"]["description"]


async def test_asyncapi_json_is_served(sample_app: Application) -> None:
    async with serving(sample_app) as url:
        document = await _json(f"{url}/docs/asyncapi.json")
    assert document["asyncapi"] == "3.0.0"
    assert "chat.message" in document["channels"]["ws"]["messages"]


async def test_swagger_ui_page_and_its_files_come_from_the_package(sample_app: Application) -> None:
    bundle = (swagger_ui_dir() / "swagger-ui-bundle.js").read_bytes()
    async with serving(sample_app) as url:
        page = await raw_request(url, "/docs/")
        also = await raw_request(url, "/docs")
        script = await raw_request(url, "/docs/swagger-ui-bundle.js")
        init = await raw_request(url, "/docs/docs-init.js")
        css = await raw_request(url, "/docs/swagger-ui.css")
        source_map = await raw_request(url, "/docs/swagger-ui-bundle.js.map")
    assert page.status == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert also.body == page.body
    html = page.body.decode()
    assert "<title>sample API docs</title>" in html
    assert 'src="/docs/swagger-ui-bundle.js"' in html
    assert "&quot;url&quot;: &quot;/docs/openapi.json&quot;" in html
    assert "http://" not in html
    assert "https://" not in html
    assert script.body == bundle
    assert b"SwaggerUIBundle" in init.body
    assert css.status == 200
    assert source_map.status == 404
    assert swagger_ui_version().startswith("5.")


async def test_documents_have_etags_and_compression(sample_app: Application) -> None:
    async with serving(sample_app) as url:
        first = await raw_request(url, "/docs/openapi.json", {"Accept-Encoding": "gzip"})
        again = await raw_request(url, "/docs/openapi.json", {"If-None-Match": first.headers["etag"]})
    assert first.headers["content-encoding"] == "gzip"
    assert again.status == 304


async def test_documents_follow_commands_added_after_start(sample_app: Application) -> None:
    extra = Group("late")

    @extra.command("one")
    async def one(params: Any, ctx: Context) -> int:
        return 1

    async with serving(sample_app) as url:
        before = await _json(f"{url}/docs/openapi.json")
        sample_app.include(extra)
        after = await _json(f"{url}/docs/openapi.json")
    assert "/api/late/one" not in before["paths"]
    assert "/api/late/one" in after["paths"]


async def test_docs_config_prefix_title_and_version(sample_app: Application) -> None:
    sample_app.container.specs["docs"].config = {"prefix": "/reference", "title": "Shop", "version": "3.2.1"}
    async with serving(sample_app) as url:
        document = await _json(f"{url}/reference/openapi.json")
        page = await raw_request(url, "/reference/")
        old = await raw_request(url, "/docs/")
    assert document["info"] == {**document["info"], "title": "Shop", "version": "3.2.1"}
    assert "<title>Shop</title>" in page.body.decode()
    assert old.status == 404


async def test_docs_next_to_a_static_site_at_the_root(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("home")
    app = Application("both", environ={"HTTP_PORT": "0"}, env_file=None)
    app.add_service(StaticService, config={"root": str(tmp_path)})
    app.add_service(DocsService)
    async with serving(app) as url:
        assert (await raw_request(url, "/")).body == b"home"
        assert (await raw_request(url, "/docs/openapi.json")).status == 200
        assert b"swagger-ui" in (await raw_request(url, "/docs/")).body
