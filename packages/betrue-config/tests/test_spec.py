from typing import Literal

import pytest
from pydantic import Field, SecretStr

from betrue.config import Config, ConfigSpec, EnvVar, Url, env
from betrue.config.spec import describe


class Service(Config):
    """Chat service.

    Longer text that is not part of the description.
    """

    port: int = env("CHAT_PORT", 3000, description="Port", example="8080")
    upstream: Url = env("CHAT_{context}_UPSTREAM", description="Upstream")
    token: SecretStr = env("CHAT_TOKEN", SecretStr("dev-token"), description="Token")
    rooms: list[str] = env("CHAT_ROOMS", ["lobby", "help"], splitter=";", description="Rooms")
    mode: Literal["dev", "prod"] = env("CHAT_MODE", "prod", description="Mode")
    prefix: str = env("CHAT_PREFIX", "", description="Prefix")
    internal: int = Field(1, description="Not configurable from the environment")


def test_variables_document_every_field_in_order() -> None:
    assert Service.spec(context="eu").variables() == (
        EnvVar("port", "EU_CHAT_PORT", "integer", False, "3000", "Port", "8080", False, False),
        EnvVar("upstream", "CHAT_EU_UPSTREAM", "url", True, "", "Upstream", "", False, False),
        EnvVar("token", "EU_CHAT_TOKEN", "secret", False, "***", "Token", "", True, False),
        EnvVar("rooms", "EU_CHAT_ROOMS", 'string[] (split by ";")', False, "lobby;help", "Rooms", "", False, False),
        EnvVar("mode", "EU_CHAT_MODE", "enum: dev, prod", False, "prod", "Mode", "", False, False),
        EnvVar("prefix", "EU_CHAT_PREFIX", "string", False, '""', "Prefix", "", False, False),
        EnvVar("internal", None, "integer", False, "1", "Not configurable from the environment", "", False, False),
    )


def test_overrides_become_the_documented_defaults() -> None:
    spec = Service.spec(overrides={"upstream": "http://up", "port": 3001, "token": "x"})
    by_field = {v.field: v for v in spec.variables()}
    assert (by_field["upstream"].required, by_field["upstream"].default) == (False, "http://up")
    assert by_field["port"].default == "3001"
    assert by_field["token"].default == "***"
    assert all(v.documented for v in spec.variables() if v.env)


def test_forced_overrides_are_not_documented() -> None:
    spec = Service.spec(overrides={"port": 3001}, force=True)
    port = next(v for v in spec.variables() if v.field == "port")
    assert port.forced
    assert not port.documented


def test_spec_normalises_context_and_resolves_names() -> None:
    spec = Service.spec(context="eu-west")
    assert spec.context == "EU_WEST"
    assert spec.env_name("port") == "EU_WEST_CHAT_PORT"
    assert spec.env_name("upstream") == "CHAT_EU_WEST_UPSTREAM"
    assert spec.env_name("internal") is None
    assert Service.spec().env_name("upstream") == "CHAT_UPSTREAM"


def test_heading_and_description() -> None:
    assert Service.spec().heading == "Chat service"
    assert Service.spec(context="eu").heading == "Chat service (context: EU)"
    assert Service.spec(description="EU chat", context="eu").heading == "EU chat (context: EU)"


def test_spec_can_be_built_directly() -> None:
    spec = ConfigSpec(Service, context="eu", overrides={"port": 1})
    assert spec.load(environ={"CHAT_EU_UPSTREAM": "http://x"}).port == 1
    assert spec.overrides == {"port": 1}
    with pytest.raises(TypeError):
        spec.overrides["port"] = 2  # type: ignore[index]


def test_check_returns_the_config_or_the_issues() -> None:
    good = Service.spec().check(environ={"CHAT_UPSTREAM": "http://x"})
    assert good.ok
    assert good.issues == ()
    assert isinstance(good.config, Service)
    bad = Service.spec().check(environ={})
    assert not bad.ok
    assert bad.config is None
    assert [issue.field for issue in bad.issues] == ["upstream"]


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        ("HTTP server.", "HTTP server"),
        ("HTTP server\n    spanning two lines.\n\n    Details.", "HTTP server spanning two lines"),
        ("   ", "Named"),
    ],
)
def test_describe_takes_the_first_paragraph(doc: str, expected: str) -> None:
    named = type("Named", (Config,), {"__doc__": doc})
    assert describe(named) == expected
