import pytest

from betrue.config import Config, ConfigError, Url, env


class Upstream(Config):
    """Upstream."""

    url: Url = env("UPSTREAM_URL", description="Base URL")
    mirrors: list[Url] = env("UPSTREAM_MIRRORS", [], description="Mirrors")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("http://example.com", "http://example.com"),
        ("https://example.com/", "https://example.com"),
        ("https://example.com/api///", "https://example.com/api"),
        ("  https://example.com/api/  ", "https://example.com/api"),
        ("HTTPS://Example.com", "HTTPS://Example.com"),
        ("http://127.0.0.1:8080/", "http://127.0.0.1:8080"),
    ],
)
def test_url_is_normalised(raw: str, expected: str) -> None:
    config = Upstream.load(environ={"UPSTREAM_URL": raw})
    assert config.url == expected
    assert isinstance(config.url, Url)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("ftp://example.com", "URL should start with http:// or https://"),
        ("example.com", "URL should start with http:// or https://"),
        ("", "URL should start with http:// or https://"),
        ("https://", "URL should have a host after the scheme"),
        ("http:///", "URL should have a host after the scheme"),
    ],
)
def test_bad_url_is_an_error(raw: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Upstream.load(environ={"UPSTREAM_URL": raw})
    [issue] = caught.value.report.failed[0].issues
    assert issue.error == message
    assert issue.field == "url"


def test_url_array_normalises_each_item() -> None:
    config = Upstream.load(environ={"UPSTREAM_URL": "http://a", "UPSTREAM_MIRRORS": "http://b/, https://c//"})
    assert config.mirrors == ["http://b", "https://c"]


def test_url_array_reports_the_bad_item() -> None:
    with pytest.raises(ConfigError) as caught:
        Upstream.load(environ={"UPSTREAM_URL": "http://a", "UPSTREAM_MIRRORS": "http://b,c"})
    [issue] = caught.value.report.failed[0].issues
    assert issue.error == "item 2: URL should start with http:// or https://"


def test_url_json_schema_and_dump() -> None:
    config = Upstream.from_dict({"url": "https://x.example/"})
    assert config.model_dump() == {"url": "https://x.example", "mirrors": []}
    assert config.model_dump_json() == '{"url":"https://x.example","mirrors":[]}'
    schema = Upstream.model_json_schema()["properties"]["url"]
    assert schema["format"] == "uri"
    assert schema["env"] == "UPSTREAM_URL"
