from typing import Literal

import pytest
from pydantic import SecretStr, ValidationError

from betrue.config import Config, ConfigError, ConfigSpec, Url, env


class HttpConfig(Config):
    """HTTP server.

    Serves the API.
    """

    host: str = env("HTTP_HOST", "127.0.0.1", description="Interface to listen on")
    port: int = env("HTTP_PORT", 3000, description="Port")
    origins: list[str] = env("WS_ORIGINS", [], description="Allowed origins", splitter=",")
    mode: Literal["dev", "prod"] = env("APP_MODE", "prod", description="Run mode")
    upstream: Url = env("UPSTREAM_URL", description="Where calls go")
    token: SecretStr = env("API_TOKEN", description="Token for the upstream")
    db_url: str = env("DB_{context}_URL", "postgres://localhost/app", description="Database")


REQUIRED = {"UPSTREAM_URL": "https://up.example", "API_TOKEN": "t0ken"}


def test_defaults_fill_what_the_environment_leaves_out() -> None:
    config = HttpConfig.load(environ=REQUIRED)
    assert config.model_dump(exclude={"token"}) == {
        "host": "127.0.0.1",
        "port": 3000,
        "origins": [],
        "mode": "prod",
        "upstream": "https://up.example",
        "db_url": "postgres://localhost/app",
    }
    assert config.token.get_secret_value() == "t0ken"


def test_the_environment_wins_over_defaults() -> None:
    config = HttpConfig.load(environ={**REQUIRED, "HTTP_PORT": "8080", "APP_MODE": "dev", "WS_ORIGINS": "a,b"})
    assert (config.port, config.mode, config.origins) == (8080, "dev", ["a", "b"])


def test_missing_required_variables_are_reported_together() -> None:
    with pytest.raises(ConfigError) as caught:
        HttpConfig.load(environ={})
    issues = caught.value.report.failed[0].issues
    assert [(issue.field, issue.error) for issue in issues] == [
        ("upstream", "Required, not set"),
        ("token", "Required, not set"),
    ]


def test_context_prefixes_every_variable() -> None:
    environ = {"GAME_UPSTREAM_URL": "http://game", "GAME_API_TOKEN": "g", "GAME_HTTP_PORT": "81", "HTTP_PORT": "82"}
    config = HttpConfig.load(context="game", environ=environ)
    assert (config.port, config.upstream) == (81, "http://game")


def test_context_placeholder_puts_the_context_inside_the_name() -> None:
    environ = {**REQUIRED, "DB_URL": "postgres://plain", "GAME_DB_URL": "postgres://wrong"}
    assert HttpConfig.load(environ=environ).db_url == "postgres://plain"
    game = {"GAME_UPSTREAM_URL": "http://g", "GAME_API_TOKEN": "g", "DB_GAME_URL": "postgres://game"}
    assert HttpConfig.load(context="GAME", environ=game).db_url == "postgres://game"


def test_an_unprefixed_variable_does_not_leak_into_a_context() -> None:
    with pytest.raises(ConfigError) as caught:
        HttpConfig.load(context="game", environ=REQUIRED)
    envs = [issue.variable.env for issue in caught.value.report.failed[0].issues if issue.variable]
    assert envs == ["GAME_UPSTREAM_URL", "GAME_API_TOKEN"]


def test_description_defaults_to_the_docstring_and_can_be_overridden() -> None:
    assert HttpConfig.spec().description == "HTTP server"
    config = HttpConfig.load(
        description="Game HTTP server", context="game", environ={"GAME_" + k: v for k, v in REQUIRED.items()}
    )
    assert config.config_spec.description == "Game HTTP server"
    assert config.config_spec.heading == "Game HTTP server (context: GAME)"


def test_overrides_act_as_defaults_below_the_environment() -> None:
    overrides = {"port": 3001, "upstream": "https://given.example/", "token": "from-dict"}
    assert HttpConfig.load(overrides=overrides, environ={}).port == 3001
    config = HttpConfig.load(overrides=overrides, environ={"HTTP_PORT": "4000"})
    assert (config.port, config.upstream, config.token.get_secret_value()) == (
        4000,
        "https://given.example",
        "from-dict",
    )


def test_forced_overrides_win_over_the_environment() -> None:
    config = HttpConfig.load(overrides={"port": 3001}, force=True, environ={**REQUIRED, "HTTP_PORT": "4000"})
    assert config.port == 3001
    assert config.host == "127.0.0.1"


def test_overrides_are_validated_like_variables() -> None:
    with pytest.raises(ConfigError) as caught:
        HttpConfig.load(overrides={"port": "many", "origins": "x, y", "mode": "test"}, environ=REQUIRED)
    assert [issue.error for issue in caught.value.report.failed[0].issues] == [
        "Input should be a valid integer, unable to parse string as an integer",
        "Input should be 'dev' or 'prod'",
    ]


def test_unknown_override_keys_fail_naming_the_key() -> None:
    with pytest.raises(ValueError, match=r"HttpConfig has no field prot \(its fields: host, port, "):
        HttpConfig.load(overrides={"prot": 1})


def test_from_dict_reads_no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PORT", "9999")
    config = HttpConfig.from_dict({"upstream": "http://x/", "token": "t", "origins": ["a"]})
    assert (config.port, config.upstream, config.origins) == (3000, "http://x", ["a"])
    with pytest.raises(ConfigError, match="Required, not set"):
        HttpConfig.from_dict({"upstream": "http://x"})


def test_a_loaded_config_is_read_only() -> None:
    config = HttpConfig.from_dict({"upstream": "http://x", "token": "t"})
    with pytest.raises(ValidationError, match="frozen"):
        config.port = 1
    assert config.model_copy(update={"port": 1}).port == 1


def test_secrets_are_masked_in_repr_str_and_dump_json() -> None:
    config = HttpConfig.from_dict({"upstream": "http://x", "token": "hunter2"})
    assert "hunter2" not in repr(config)
    assert "hunter2" not in str(config)
    assert "hunter2" not in config.model_dump_json()
    assert "token=SecretStr('**********')" in repr(config)


def test_config_spec_remembers_how_the_config_was_loaded() -> None:
    config = HttpConfig.load(context="game", overrides={"upstream": "http://x", "token": "t"}, environ={})
    spec = config.config_spec
    assert isinstance(spec, ConfigSpec)
    assert (spec.config, spec.context, dict(spec.overrides), spec.force) == (
        HttpConfig,
        "GAME",
        {"upstream": "http://x", "token": "t"},
        False,
    )
    assert HttpConfig(upstream="http://x", token="t").config_spec.context == ""  # type: ignore[arg-type]


def test_extra_fields_are_refused() -> None:
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        HttpConfig(upstream="http://x", token="t", colour="red")  # type: ignore[call-arg, arg-type]


def test_a_subclass_keeps_fields_and_adds_its_own() -> None:
    class TlsHttpConfig(HttpConfig):
        """HTTPS server."""

        cert: str = env("TLS_CERT", "cert.pem", description="Certificate")

    config = TlsHttpConfig.load(environ={**REQUIRED, "TLS_CERT": "/etc/c.pem", "HTTP_PORT": "443"})
    assert (config.cert, config.port) == ("/etc/c.pem", 443)
    assert TlsHttpConfig.spec().description == "HTTPS server"


def test_a_class_without_docstring_is_described_by_its_name() -> None:
    class NoDoc(Config):
        level: str = env("NODOC_LEVEL", "info")

    assert NoDoc.spec().description == "NoDoc"
