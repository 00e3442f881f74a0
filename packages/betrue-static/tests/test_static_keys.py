"""The file key: how request paths and file names meet (betrue.static.keys)."""

from __future__ import annotations

import pytest

from betrue.static.keys import file_key, normalize_prefix, request_key, template_target


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("/app.css", "app.css"),
        ("/app.css?v=123", "app.css"),
        ("/app.css?v=1&x=/../../etc", "app.css"),
        ("/app.css#top", "app.css"),
        ("//css///app.css", "css/app.css"),
        ("/css/app.css/", "css/app.css"),
        ("/my%20file.txt", "my file.txt"),
        ("/caf%C3%A9.html", "café.html"),
        ("/a%2Fb.css", "a/b.css"),
        ("/", ""),
        ("", ""),
    ],
)
def test_request_key_decodes_and_normalises(raw: str, key: str) -> None:
    assert request_key(raw, "/") == key


@pytest.mark.parametrize(
    "raw",
    [
        "/../secret.txt",
        "/css/../../secret.txt",
        "/%2e%2e/secret.txt",
        "/%2E%2E/secret.txt",
        "/.%2e/secret.txt",
        "/./app.css",
        "/..%5csecret.txt",
        "/css\\..\\secret.txt",
        "/app.css%00.png",
        "/%ff%fe",
    ],
)
def test_request_key_refuses_traversal_and_bad_bytes(raw: str) -> None:
    assert request_key(raw, "/") is None


def test_request_key_strips_the_prefix_and_refuses_other_paths() -> None:
    assert request_key("/static/app.css", "/static/") == "app.css"
    assert request_key("/static", "/static/") == ""
    assert request_key("/static/", "/static/") == ""
    assert request_key("/staticky/app.css", "/static/") is None
    assert request_key("/other/app.css", "/static/") is None


def test_case_insensitive_keys_fold_both_sides() -> None:
    assert request_key("/CSS/App.CSS", "/", "insensitive") == "css/app.css"
    assert file_key("css/App.css", "insensitive") == "css/app.css"
    assert request_key("/CSS/App.CSS", "/", "sensitive") == "CSS/App.CSS"


def test_double_encoding_is_decoded_once() -> None:
    # %252e%252e decodes to the literal name "%2e%2e", which is no traversal and matches no file.
    assert request_key("/%252e%252e/secret.txt", "/") == "%2e%2e/secret.txt"


@pytest.mark.parametrize(
    ("prefix", "normal"), [("/", "/"), ("", "/"), ("assets", "/assets/"), ("/a//b/", "/a/b/"), ("/docs", "/docs/")]
)
def test_normalize_prefix(prefix: str, normal: str) -> None:
    assert normalize_prefix(prefix) == normal


@pytest.mark.parametrize(
    ("name", "target"),
    [
        ("index.tmpl.html", "index.html"),
        ("js/config.tmpl.js", "js/config.js"),
        ("index.html", None),
        ("tmpl.html", None),
        ("a.tmpl", None),
        ("notes.tmpl.d/readme.txt", None),
    ],
)
def test_template_target(name: str, target: str | None) -> None:
    assert template_target(name) == target
