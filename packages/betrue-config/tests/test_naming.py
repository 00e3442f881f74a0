import pytest

from betrue.config._naming import check_env_template, normalize_context, resolve_env_name


@pytest.mark.parametrize(
    ("context", "expected"),
    [(None, ""), ("", ""), ("game", "GAME"), ("GAME", "GAME"), ("game-db", "GAME_DB"), (" chat.v2_ ", "CHAT_V2")],
)
def test_normalize_context(context: str | None, expected: str) -> None:
    assert normalize_context(context) == expected


@pytest.mark.parametrize(
    ("template", "context", "expected"),
    [
        ("HTTP_PORT", "", "HTTP_PORT"),
        ("HTTP_PORT", "GAME", "GAME_HTTP_PORT"),
        ("HTTP_PORT", "game", "GAME_HTTP_PORT"),
        ("DB_{context}_URL", "GAME", "DB_GAME_URL"),
        ("DB_{context}_URL", "", "DB_URL"),
        ("{context}_URL", "", "URL"),
        ("{context}_URL", "GAME", "GAME_URL"),
        ("DB_{context}", "", "DB"),
        ("DB_{context}", "chat-db", "DB_CHAT_DB"),
    ],
)
def test_resolve_env_name(template: str, context: str, expected: str) -> None:
    assert resolve_env_name(template, context) == expected


@pytest.mark.parametrize("template", ["HTTP_PORT", "DB_{context}_URL", "{context}_URL", "_PRIVATE"])
def test_valid_templates_pass(template: str) -> None:
    assert check_env_template(template) == template


@pytest.mark.parametrize("template", ["", "HTTP-PORT", "1PORT", "DB_{ctx}_URL", "{context}", "A B", "{context}_"])
def test_invalid_templates_are_refused(template: str) -> None:
    with pytest.raises(ValueError, match="invalid environment variable name"):
        check_env_template(template)
