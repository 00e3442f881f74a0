"""StaticService in an app: start-up log, templates with the app's config, budget, reload, several instances."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from betrue.server import Application
from betrue.static import MemoryBudgetError, StaticService, TemplateError
from betrue.static.testing import raw_request, serving

MakeApp = Callable[..., Application]


async def test_start_logs_every_file_and_the_total_in_human_units(
    make_app: MakeApp, site: Path, log_lines: list[str]
) -> None:
    (site / "data.bin").write_bytes(b"\1" * 1536)
    async with serving(make_app(site, prefix="/s")):
        pass
    summary = next(line for line in log_lines if line.startswith("static: "))
    assert summary.startswith("static: 5 files, 5.8 KiB (with compressed copies ")
    assert summary.endswith(f" from {site} at /s/")
    files = [line.strip() for line in log_lines if line.startswith("  ")]
    assert "data.bin 1.5 KiB" in files
    assert "index.html 14 B" in files
    assert any(line.startswith("css/App.css 4.3 KiB (gzip ") and ", br " in line for line in files)
    assert all(line and "0.0" not in line for line in files)


async def test_per_file_lines_can_be_turned_off(make_app: MakeApp, site: Path, log_lines: list[str]) -> None:
    async with serving(make_app(site, log_files=False)):
        pass
    assert any(line.startswith("static: 4 files") for line in log_lines)
    assert not any(line.startswith("  ") for line in log_lines)


async def test_memory_budget_error_at_start_names_the_largest_files(make_app: MakeApp, site: Path) -> None:
    (site / "movie.mp4").write_bytes(b"\0" * 300_000)
    (site / "photo.jpg").write_bytes(b"\0" * 200_000)
    app = make_app(site, memory_budget="256KiB")
    with pytest.raises(MemoryBudgetError, match=r"over STATIC_MEMORY_BUDGET of 256 KiB; largest: movie\.mp4 293 KiB"):
        await app.start()
    assert not app.started


async def test_templates_read_the_app_config(make_app: MakeApp, site: Path) -> None:
    (site / "env.tmpl.js").write_text(
        "const api = {{ config('HTTP_API_PREFIX') | tojson }};\n"
        "const prefix = {{ config('STATIC_PREFIX') | tojson }};\n"
        "const log = {{ config('LOG_LEVEL') | tojson }};\n"
        "const css = {{ file('css/App.css', hash=True) | tojson }};\n"
    )
    async with serving(make_app(site, prefix="/assets/")) as url:
        reply = await raw_request(url, "/assets/env.js")
        source = await raw_request(url, "/assets/env.tmpl.js")
    lines = reply.body.decode().splitlines()
    assert lines[:3] == ['const api = "/api";', 'const prefix = "/assets/";', 'const log = "INFO";']
    assert lines[3].startswith('const css = "/assets/css/App.css?v=')
    assert reply.headers["content-type"] == "text/javascript; charset=utf-8"
    assert source.status == 404


async def test_template_error_fails_the_start(make_app: MakeApp, site: Path) -> None:
    (site / "index.tmpl.htm").write_text("<html>\n{{ file('logo.png') }}\n")
    with pytest.raises(TemplateError, match=r"index\.tmpl\.htm line 2: file\('logo\.png'\): no such file"):
        await make_app(site).start()


async def test_several_instances_with_their_own_context(tmp_path: Path) -> None:
    public, admin = tmp_path / "public", tmp_path / "admin"
    public.mkdir()
    admin.mkdir()
    (public / "index.html").write_text("public")
    (admin / "index.html").write_text("admin")
    environ = {"HTTP_PORT": "0", "STATIC_ROOT": str(public), "ADMIN_STATIC_ROOT": str(admin)}
    app = Application("two", environ={**environ, "ADMIN_STATIC_PREFIX": "/admin"}, env_file=None)
    app.add_service(StaticService)
    app.add_service(StaticService, name="admin-static", context="admin")
    async with serving(app) as url:
        assert (await raw_request(url, "/")).body == b"public"
        assert (await raw_request(url, "/admin/")).body == b"admin"
        assert (await raw_request(url, "/admin")).body == b"admin"
    assert app.container.configs["admin-static"].prefix == "/admin"  # type: ignore[attr-defined]


async def test_static_at_the_root_leaves_commands_alone(make_app: MakeApp, site: Path) -> None:
    app = make_app(site, prefix="/")
    async with serving(app) as url:
        reply = await raw_request(url, "/api/_app/health", {"Content-Length": "0"}, method="POST")
    assert reply.status == 200
    assert b'"status":"ok"' in reply.body


async def test_reload_on_change(make_app: MakeApp, site: Path) -> None:
    app = make_app(site, watch=True)
    async with serving(app) as url:
        service: StaticService = app.service("static")
        before = service.reloads
        (site / "app.js").write_text("console.log('changed');\n")
        (site / "new.txt").write_text("new file")
        await service.wait_reload(before, timeout=10)
        if b"new file" not in (await raw_request(url, "/new.txt")).body:  # the two writes came in two batches
            await service.wait_reload(before + 1, timeout=10)
        assert (await raw_request(url, "/app.js")).body == b"console.log('changed');\n"
        assert (await raw_request(url, "/new.txt")).body == b"new file"
        count = service.reloads
        (site / "new.txt").unlink()
        await service.wait_reload(count, timeout=10)
        assert (await raw_request(url, "/new.txt")).status == 404


async def test_a_failed_reload_keeps_the_previous_files(make_app: MakeApp, site: Path, log_lines: list[str]) -> None:
    app = make_app(site)
    async with serving(app) as url:
        service: StaticService = app.service("static")
        (site / "broken.tmpl.html").write_text("{{ file('nope.css') }}")
        assert await service.reload() is False
        assert (await raw_request(url, "/app.js")).status == 200
    assert any("reload failed, still serving the previous files" in line for line in log_lines)


async def test_watch_stops_with_the_app(make_app: MakeApp, site: Path) -> None:
    app = make_app(site, watch=True)
    async with serving(app):
        service: StaticService = app.service("static")
        watcher = service._watcher
        assert watcher is not None
        assert not watcher.done()
    await asyncio.wait_for(asyncio.shield(watcher), 5)
    assert watcher.done()


async def test_served_files_never_touch_the_disk(make_app: MakeApp, site: Path) -> None:
    async with serving(make_app(site)) as url:
        os.rename(site, site.with_name("moved"))
        reply = await raw_request(url, "/css/App.css")
    assert reply.status == 200
