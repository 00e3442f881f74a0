from pathlib import Path

import pytest
from pydantic_settings import SettingsConfigDict

from betrue.config import Config, env
from betrue.config.sources import ConfigEnvSource, read_variables


class Http(Config):
    """HTTP server."""

    host: str = env("BT_TEST_HTTP_HOST", "127.0.0.1", description="Interface")
    port: int = env("BT_TEST_HTTP_PORT", 3000, description="Port")


@pytest.fixture
def dotenv(tmp_path: Path) -> Path:
    path = tmp_path / ".env"
    path.write_text("# comment\nBT_TEST_HTTP_HOST=0.0.0.0\nBT_TEST_HTTP_PORT='4000'\nGAME_BT_TEST_HTTP_PORT=5000\n")
    return path


def test_values_come_from_the_env_file(dotenv: Path) -> None:
    config = Http.load(environ={}, env_file=dotenv)
    assert (config.host, config.port) == ("0.0.0.0", 4000)


def test_the_environment_wins_over_the_env_file(dotenv: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BT_TEST_HTTP_PORT", "4001")
    config = Http.load(env_file=dotenv)
    assert (config.host, config.port) == ("0.0.0.0", 4001)


def test_an_explicit_environ_replaces_os_environ(dotenv: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BT_TEST_HTTP_PORT", "4001")
    assert Http.load(environ={"BT_TEST_HTTP_PORT": "4002"}, env_file=dotenv).port == 4002
    assert Http.load(environ={}, env_file=dotenv).port == 4000


def test_the_context_applies_to_env_file_names(dotenv: Path) -> None:
    config = Http.load(context="game", environ={}, env_file=dotenv)
    assert (config.host, config.port) == ("127.0.0.1", 5000)


def test_later_env_files_win(dotenv: Path, tmp_path: Path) -> None:
    local = tmp_path / ".env.local"
    local.write_text("BT_TEST_HTTP_PORT=4500\n")
    assert Http.load(environ={}, env_file=[dotenv, local]).port == 4500
    assert Http.load(environ={}, env_file=[dotenv, tmp_path / "missing.env"]).port == 4000


def test_env_file_defaults_to_the_class_setting(dotenv: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    class FromFile(Http):
        model_config = SettingsConfigDict(env_file=".env")

    monkeypatch.chdir(dotenv.parent)
    assert FromFile.load(environ={}).port == 4000
    assert FromFile.load(environ={}, env_file=()).port == 3000
    assert Http.load(environ={}).port == 3000


def test_os_environ_is_read_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BT_TEST_HTTP_PORT", "6000")
    monkeypatch.setenv("GAME_BT_TEST_HTTP_HOST", "10.0.0.1")
    assert Http.load().port == 6000
    assert Http.load(context="GAME").host == "10.0.0.1"
    assert Http.load(context="GAME").port == 3000


def test_names_are_case_sensitive() -> None:
    assert Http.load(environ={"bt_test_http_port": "1"}).port == 3000


def test_plain_instantiation_reads_the_environment_without_context(
    dotenv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BT_TEST_HTTP_PORT", "7000")
    assert Http().port == 7000
    assert Http(port=1).port == 1
    assert Http(_env_file=dotenv).host == "0.0.0.0"  # type: ignore[call-arg]


def test_source_gives_raw_strings_of_env_fields_only() -> None:
    source = ConfigEnvSource(Http, context="game", environ={"GAME_BT_TEST_HTTP_PORT": "81", "OTHER": "x"})
    assert source() == {"port": "81"}
    assert source.get_field_value(Http.model_fields["port"], "port") == ("81", "GAME_BT_TEST_HTTP_PORT", False)
    assert source.env_name(Http.model_fields["host"]) == "GAME_BT_TEST_HTTP_HOST"


def test_read_variables_merges_file_then_environ(dotenv: Path) -> None:
    variables = read_variables(Http, {"BT_TEST_HTTP_HOST": "::1", "EXTRA": ""}, dotenv)
    assert variables["BT_TEST_HTTP_HOST"] == "::1"
    assert variables["BT_TEST_HTTP_PORT"] == "4000"
    assert variables["EXTRA"] == ""
