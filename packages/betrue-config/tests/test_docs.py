from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr

from betrue.config import Config, Url, docs_markdown, docs_table, env, env_example


class HttpConfig(Config):
    """HTTP server."""

    host: str = env("HTTP_HOST", "127.0.0.1", description="Interface to listen on")
    port: int = env("HTTP_PORT", 3000, description="Port")
    origins: list[str] = env("WS_ORIGINS", [], description="Allowed origins", splitter=";")
    mode: Literal["dev", "prod"] = env("APP_MODE", "prod", description="Run mode")
    upstream: Url = env("UPSTREAM_URL", description="Where calls go")
    token: SecretStr = env("API_TOKEN", description="Token for the upstream")
    internal: int = Field(1, description="Not from the environment")


class Mailer(Config):
    """Mailer."""

    sender: str = env("MAIL_FROM", "Chat <no-reply@example.com>", description="From header", example="a@b.c")
    password: SecretStr = env("MAIL_PASSWORD", SecretStr("dev-only"), description="SMTP password")


HTTP_DOCS = """\
## HTTP server

| required | default   | env            | description            | type                    |
|----------|-----------|----------------|------------------------|-------------------------|
|          | 127.0.0.1 | `HTTP_HOST`    | Interface to listen on | string                  |
|          | 3000      | `HTTP_PORT`    | Port                   | integer                 |
|          | ""        | `WS_ORIGINS`   | Allowed origins        | string[] (split by ";") |
|          | prod      | `APP_MODE`     | Run mode               | enum: dev, prod         |
| yes      |           | `UPSTREAM_URL` | Where calls go         | url                     |
| yes      |           | `API_TOKEN`    | Token for the upstream | secret                  |"""


def test_docs_table_of_a_class() -> None:
    assert docs_table(HttpConfig) == HTTP_DOCS


def test_docs_table_under_a_context_with_overrides_and_description() -> None:
    spec = HttpConfig.spec(
        context="game", description="Game HTTP server", overrides={"port": 3001, "origins": ["a.example", "b.example"]}
    )
    assert docs_table(spec) == (
        "## Game HTTP server (context: GAME)\n"
        "\n"
        "| required | default             | env                 | description            | type                    |\n"
        "|----------|---------------------|---------------------|------------------------|-------------------------|\n"
        "|          | 127.0.0.1           | `GAME_HTTP_HOST`    | Interface to listen on | string                  |\n"
        "|          | 3001                | `GAME_HTTP_PORT`    | Port                   | integer                 |\n"
        '|          | a.example;b.example | `GAME_WS_ORIGINS`   | Allowed origins        | string[] (split by ";") |\n'
        "|          | prod                | `GAME_APP_MODE`     | Run mode               | enum: dev, prod         |\n"
        "| yes      |                     | `GAME_UPSTREAM_URL` | Where calls go         | url                     |\n"
        "| yes      |                     | `GAME_API_TOKEN`    | Token for the upstream | secret                  |"
    )


def test_secret_defaults_are_masked_and_an_example_column_appears() -> None:
    table = docs_table(Mailer)
    assert "dev-only" not in table
    assert table.splitlines()[2:] == [
        "| required | default                     | env             | description   | type   | example |",
        "|----------|-----------------------------|-----------------|---------------|--------|---------|",
        "|          | Chat <no-reply@example.com> | `MAIL_FROM`     | From header   | string | a@b.c   |",
        "|          | ***                         | `MAIL_PASSWORD` | SMTP password | secret |         |",
    ]


def test_secret_overrides_are_masked_too() -> None:
    table = docs_table(HttpConfig.spec(overrides={"token": "from-code"}))
    assert "from-code" not in table
    assert "| ***       | `API_TOKEN`    |" in table


def test_forced_fields_leave_the_docs() -> None:
    table = docs_table(HttpConfig.spec(overrides={"port": 1}, force=True))
    assert "HTTP_PORT" not in table
    assert "HTTP_HOST" in table


def test_a_config_without_variables() -> None:
    class Empty(Config):
        """Nothing to set."""

        internal: int = 1

    assert docs_table(Empty) == "## Nothing to set\n\nNo environment variables."


def test_docs_markdown_joins_tables() -> None:
    assert docs_markdown([HttpConfig, Mailer]) == HTTP_DOCS + "\n\n" + docs_table(Mailer)
    assert docs_markdown([]) == ""


def test_env_example() -> None:
    assert env_example([HttpConfig.spec(context="game"), Mailer]) == (
        "# HTTP server (context: GAME)\n"
        "\n"
        "# Interface to listen on. Type: string.\n"
        "GAME_HTTP_HOST=127.0.0.1\n"
        "\n"
        "# Port. Type: integer.\n"
        "GAME_HTTP_PORT=3000\n"
        "\n"
        '# Allowed origins. Type: string[] (split by ";").\n'
        'GAME_WS_ORIGINS=""\n'
        "\n"
        "# Run mode. Type: enum: dev, prod.\n"
        "GAME_APP_MODE=prod\n"
        "\n"
        "# Where calls go. Type: url. Required.\n"
        "GAME_UPSTREAM_URL=\n"
        "\n"
        "# Token for the upstream. Type: secret. Required.\n"
        "GAME_API_TOKEN=\n"
        "\n"
        "# Mailer\n"
        "\n"
        "# From header. Type: string. Example: a@b.c.\n"
        'MAIL_FROM="Chat <no-reply@example.com>"\n'
        "\n"
        "# SMTP password. Type: secret.\n"
        "MAIL_PASSWORD=\n"
    )


def test_env_example_is_read_back_by_dotenv(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_text(env_example([Mailer]))
    config = Mailer.load(environ={}, env_file=path)
    assert config.sender == "Chat <no-reply@example.com>"
    assert config.password.get_secret_value() == ""
