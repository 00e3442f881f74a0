"""Templates rendered at start with config, url and file (betrue.static.templates)."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from betrue.static.scan import SourceFile
from betrue.static.templates import TemplateError, render_templates

CSS = SourceFile("css/app.css", b"body{}", 1_700_000_123.7)


def _config(name: str, default: Any = None) -> Any:
    return {"APP_TITLE": "Shop", "HTTP_PORT": 8080}.get(name, default)


def _render(*files: SourceFile, prefix: str = "/static/", case: Any = "sensitive") -> dict[str, bytes]:
    rendered = render_templates(files, prefix=prefix, config=_config, case=case)
    return {item.relative: item.data for item in rendered}


def test_all_three_functions() -> None:
    page = SourceFile(
        "index.tmpl.html",
        b"<title>{{ config('APP_TITLE') }}</title>\n"
        b"{{ config('MISSING', 'fallback') }} {{ config('NOPE', None) }}\n"
        b"<a href=\"{{ url('guide/') }}\">\n"
        b"<link href=\"{{ file('css/app.css') }}\">\n"
        b"<link href=\"{{ file('/css/app.css', hash=True) }}\">\n",
        1.0,
    )
    digest = hashlib.sha256(b"body{}").hexdigest()[:16]
    assert _render(page, CSS)["index.html"].decode().splitlines() == [
        "<title>Shop</title>",
        "fallback None",
        '<a href="/static/guide/">',
        '<link href="/static/css/app.css?v=1700000123">',
        f'<link href="/static/css/app.css?v={digest}">',
    ]


def test_output_name_drops_tmpl_and_source_is_not_served_as_is() -> None:
    out = _render(SourceFile("js/env.tmpl.js", b"const port = {{ config('HTTP_PORT') }};", 1.0))
    assert out == {"js/env.js": b"const port = 8080;"}


def test_url_percent_encodes_and_html_is_escaped() -> None:
    page = SourceFile("a.tmpl.html", b"{{ url('my file.txt') }} {{ config('X', '<b>') }}", 1.0)
    assert _render(page)["a.html"] == b"/static/my%20file.txt &lt;b&gt;"


def test_missing_file_is_an_error_naming_template_and_line() -> None:
    page = SourceFile("pages/index.tmpl.html", b"<html>\n<head>\n{{ file('css/missing.css') }}\n", 1.0)
    with pytest.raises(TemplateError) as caught:
        _render(page, CSS)
    message = str(caught.value)
    assert "pages/index.tmpl.html line 3" in message
    assert "css/missing.css" in message


def test_error_in_an_included_file_names_that_file() -> None:
    page = SourceFile("index.tmpl.html", b"{% include 'parts/head.html' %}", 1.0)
    head = SourceFile("parts/head.html", b"ok\n{{ file('nope.js') }}", 1.0)
    with pytest.raises(TemplateError, match=r"parts/head\.html line 2.*nope\.js"):
        _render(page, head)


def test_syntax_error_names_template_and_line() -> None:
    page = SourceFile("index.tmpl.html", b"fine\n{% if %}\n", 1.0)
    with pytest.raises(TemplateError, match=r"index\.tmpl\.html line 2"):
        _render(page)


def test_undefined_variable_is_an_error() -> None:
    page = SourceFile("index.tmpl.html", b"{{ nothing.here }}", 1.0)
    with pytest.raises(TemplateError, match=r"index\.tmpl\.html line 1.*nothing"):
        _render(page)


def test_file_hash_of_another_template_uses_its_rendered_output() -> None:
    script = SourceFile("app.tmpl.js", b"var port = {{ config('HTTP_PORT') }};", 5.0)
    page = SourceFile("index.tmpl.html", b"{{ file('app.js', hash=True) }} {{ file('app.js') }}", 1.0)
    digest = hashlib.sha256(b"var port = 8080;").hexdigest()[:16]
    assert _render(page, script)["index.html"] == f"/static/app.js?v={digest} /static/app.js?v=5".encode()


def test_templates_hashing_each_other_is_an_error() -> None:
    first = SourceFile("a.tmpl.js", b"{{ file('b.js', hash=True) }}", 1.0)
    second = SourceFile("b.tmpl.js", b"{{ file('a.js', hash=True) }}", 1.0)
    with pytest.raises(TemplateError, match="depend on each other"):
        _render(first, second)


def test_file_follows_case_insensitive_keys() -> None:
    page = SourceFile("index.tmpl.html", b"{{ file('CSS/APP.css') }}", 1.0)
    assert _render(page, CSS, case="insensitive")["index.html"] == b"/static/css/app.css?v=1700000123"


def test_non_utf8_template_is_an_error() -> None:
    with pytest.raises(TemplateError, match="UTF-8"):
        _render(SourceFile("bad.tmpl.txt", b"\xff\xfe", 1.0))


@pytest.mark.parametrize("name", ["NOPE", "db.url"])
def test_an_unknown_config_name_without_a_default_stops_the_start_naming_template_and_line(name: str) -> None:
    page = SourceFile("index.tmpl.html", f"<html>\n<title>{{{{ config('{name}') }}}}</title>\n".encode(), 1.0)
    with pytest.raises(TemplateError, match=rf"template index.tmpl.html line 2: config\('{name}'\): no such config"):
        _render(page)


def test_url_with_a_prefix_reaches_files_outside_this_services_prefix() -> None:
    page = SourceFile("index.tmpl.html", b"{{ url('/betrue-ws/betrue-ws.js', prefix='/') }} {{ url('a.js') }}", 1.0)
    assert _render(page, prefix="/site/")["index.html"] == b"/betrue-ws/betrue-ws.js /site/a.js"


@pytest.mark.parametrize(("old", "new"), [("urlFile", "file(path"), ("urlPage", "url(path")])
def test_be_true_template_names_get_a_one_line_error_with_the_betrue_name(old: str, new: str) -> None:
    page = SourceFile("index.tmpl.html", f"\n{{{{ {old}('app.css') }}}}".encode(), 1.0)
    with pytest.raises(TemplateError) as caught:
        _render(page, CSS)
    message = str(caught.value)
    assert message.startswith(f"template index.tmpl.html line 2: {old}() is @be-true's name; betrue's is {new}")
    assert "\n" not in message
