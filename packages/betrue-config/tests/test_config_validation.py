from typing import Literal

import pytest
from pydantic import SecretStr, field_validator

from betrue.config import (
    Config,
    ConfigError,
    ConfigReport,
    Url,
    env,
    load_configs,
    validate_configs,
)


class Database(Config):
    """Database."""

    url: Url = env("DB_URL", description="Where the database listens")
    pool: int = env("DB_POOL", 10, description="Pool size")
    mode: Literal["rw", "ro"] = env("DB_MODE", "rw", description="Access mode")
    password: SecretStr = env("DB_PASSWORD", SecretStr("dev-secret"), description="Password", min_length=8)


class Cache(Config):
    """Cache."""

    ttl: int = env("CACHE_TTL", 60, description="Seconds to keep entries")


DATABASE_TABLE = """\
## Database

| error                                                                 | required | default | env     | description                | type         |
|-----------------------------------------------------------------------|----------|---------|---------|----------------------------|--------------|
| Required, not set                                                     | yes      |         | DB_URL  | Where the database listens | url          |
| Input should be a valid integer, unable to parse string as an integer |          | 10      | DB_POOL | Pool size                  | integer      |
| Input should be 'rw' or 'ro'                                          |          | rw      | DB_MODE | Access mode                | enum: rw, ro |"""  # noqa: E501


def test_three_different_errors_make_one_exact_table() -> None:
    report = validate_configs([Database], environ={"DB_POOL": "many", "DB_MODE": "readonly"})
    assert report.render() == DATABASE_TABLE


def test_each_row_holds_error_required_default_env_description_type() -> None:
    report = validate_configs([Database], environ={"DB_POOL": "many", "DB_MODE": "readonly"})
    assert [issue.row() for issue in report.failed[0].issues] == [
        ("Required, not set", "yes", "", "DB_URL", "Where the database listens", "url"),
        (
            "Input should be a valid integer, unable to parse string as an integer",
            "",
            "10",
            "DB_POOL",
            "Pool size",
            "integer",
        ),
        ("Input should be 'rw' or 'ro'", "", "rw", "DB_MODE", "Access mode", "enum: rw, ro"),
    ]


def test_every_config_is_checked_and_each_gets_its_table() -> None:
    environ = {"DB_POOL": "many", "DB_MODE": "readonly", "EU_CACHE_TTL": "soon", "CACHE_TTL": "5"}
    report = validate_configs([Database, Cache.spec(context="eu"), Cache], environ=environ)
    assert not report.ok
    assert [result.spec.heading for result in report.failed] == ["Database", "Cache (context: EU)"]
    assert report.configs[:2] == (None, None)
    assert isinstance(report.configs[2], Cache)
    assert report.configs[2].ttl == 5
    assert report.render() == DATABASE_TABLE + "\n\n" + report.failed[1].table()
    assert report.failed[1].table().splitlines()[0] == "## Cache (context: EU)"
    assert "| EU_CACHE_TTL |" in report.failed[1].table()


def test_secrets_never_show_in_error_tables() -> None:
    report = validate_configs([Database], environ={"DB_URL": "http://db", "DB_PASSWORD": "hunter2"})
    [issue] = report.failed[0].issues
    assert issue.row() == ("Secret should have at least 8 characters", "", "***", "DB_PASSWORD", "Password", "secret")
    assert "hunter2" not in report.render()
    assert "dev-secret" not in report.render()
    assert "7" not in issue.error


def test_config_error_carries_every_table() -> None:
    with pytest.raises(ConfigError) as caught:
        load_configs([Database, Cache], environ={"DB_POOL": "many", "DB_MODE": "readonly", "CACHE_TTL": "x"})
    error = caught.value
    assert len(error.tables) == 2
    assert error.tables[0] == DATABASE_TABLE
    assert str(error) == "\n\n".join(error.tables)
    assert isinstance(error.report, ConfigReport)
    assert error.__cause__ is None


def test_load_configs_returns_every_config_in_order() -> None:
    db, cache = load_configs([Database, Cache.spec(overrides={"ttl": 5})], environ={"DB_URL": "http://db"})
    assert isinstance(db, Database)
    assert isinstance(cache, Cache)
    assert (db.url, cache.ttl) == ("http://db", 5)


def test_a_valid_report_renders_nothing_and_raises_nothing() -> None:
    report = validate_configs([Cache], environ={})
    assert report.ok
    assert report.render() == ""
    assert report.tables() == ()
    report.raise_for_errors()


def test_errors_of_custom_validators_are_collected() -> None:
    class Window(Config):
        """Window."""

        low: int = env("WINDOW_LOW", 1, description="Low")

        @field_validator("low")
        @classmethod
        def _positive(cls, value: int) -> int:
            if value % 2:
                raise ValueError("must be even")
            return value

    report = validate_configs([Window], environ={})
    assert report.failed[0].issues[0].row() == ("Value error, must be even", "", "1", "WINDOW_LOW", "Low", "integer")


def test_a_bad_default_is_reported_too() -> None:
    class Broken(Config):
        """Broken."""

        url: Url = env("BROKEN_URL", "localhost", description="Has a bad default")

    [issue] = validate_configs([Broken], environ={}).failed[0].issues
    assert issue.row() == (
        "URL should start with http:// or https://",
        "",
        "localhost",
        "BROKEN_URL",
        "Has a bad default",
        "url",
    )
