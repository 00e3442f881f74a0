import enum
from pathlib import Path
from typing import Annotated, Literal

import pytest
from pydantic import Field, SecretStr

from betrue.config import Config, ConfigError, Url, env
from betrue.config._kinds import analyze


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


class Kinds(Config):
    text: str = env("TEXT", "")
    number: int = env("NUMBER", 0)
    ratio: float = env("RATIO", 0.5)
    flag: bool = env("FLAG", False)
    url: Url = env("URL", "http://x")
    secret: SecretStr = env("SECRET", SecretStr("s"))
    path: Path = env("PATH_TO", Path("/tmp"))
    mode: Literal["dev", "prod"] = env("MODE", "dev")
    color: Color = env("COLOR", Color.RED)
    level: str = env("LEVEL", "info", choices=["debug", "info"])
    maybe: int | None = env("MAYBE", None)
    annotated: Annotated[int, Field(ge=0)] = env("ANNOTATED", 1)
    names: list[str] = env("NAMES", [])
    ports: tuple[int, ...] = env("PORTS", (), splitter=";")
    flags: set[bool] = env("FLAGS", set())
    urls: list[Url] = env("URLS", [])
    modes: list[Literal["a", "b"]] = env("MODES", [], splitter="|")
    levels: list[str] = env("LEVELS", [], choices=["x", "y"])


@pytest.mark.parametrize(
    ("field", "label"),
    [
        ("text", "string"),
        ("number", "integer"),
        ("ratio", "number"),
        ("flag", "boolean"),
        ("url", "url"),
        ("secret", "secret"),
        ("path", "path"),
        ("mode", "enum: dev, prod"),
        ("color", "enum: red, green"),
        ("level", "enum: debug, info"),
        ("maybe", "integer"),
        ("annotated", "integer"),
        ("names", 'string[] (split by ",")'),
        ("ports", 'integer[] (split by ";")'),
        ("flags", 'boolean[] (split by ",")'),
        ("urls", 'url[] (split by ",")'),
        ("modes", 'enum[]: a, b (split by "|")'),
        ("levels", 'enum[]: x, y (split by ",")'),
    ],
)
def test_type_labels(field: str, label: str) -> None:
    assert analyze(Kinds.model_fields[field]).label == label


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("true", True),
        ("TRUE", True),
        ("1", True),
        ("yes", True),
        ("On", True),
        (" on ", True),
        ("false", False),
        ("False", False),
        ("0", False),
        ("no", False),
        ("OFF", False),
    ],
)
def test_booleans_from_env(raw: str, expected: bool) -> None:
    assert Kinds.load(environ={"FLAG": raw}).flag is expected


@pytest.mark.parametrize("raw", ["maybe", "2", "", "t", "y"])
def test_bad_booleans_are_errors(raw: str) -> None:
    result = Kinds.spec().check(environ={"FLAG": raw})
    assert [issue.error for issue in result.issues] == ["Input should be true/false, 1/0, yes/no or on/off"]


def test_scalars_from_env() -> None:
    config = Kinds.load(
        environ={
            "TEXT": "hello world",
            "NUMBER": "42",
            "RATIO": "1.5",
            "PATH_TO": "/var/lib",
            "MODE": "prod",
            "COLOR": "green",
            "LEVEL": "debug",
            "MAYBE": "7",
            "SECRET": "hunter2",
        }
    )
    assert (config.text, config.number, config.ratio, config.path) == ("hello world", 42, 1.5, Path("/var/lib"))
    assert (config.mode, config.color, config.level, config.maybe) == ("prod", Color.GREEN, "debug", 7)
    assert config.secret.get_secret_value() == "hunter2"


def test_arrays_from_one_variable_each_with_its_splitter() -> None:
    config = Kinds.load(
        environ={
            "NAMES": "a, b ,c",
            "PORTS": "80;443",
            "FLAGS": "yes,off",
            "URLS": "http://a/,https://b",
            "MODES": "a|b|a",
            "LEVELS": "x,y",
        }
    )
    assert config.names == ["a", "b", "c"]
    assert config.ports == (80, 443)
    assert config.flags == {True, False}
    assert config.urls == ["http://a", "https://b"]
    assert config.modes == ["a", "b", "a"]
    assert config.levels == ["x", "y"]


def test_a_comma_stays_inside_an_item_when_the_splitter_is_another() -> None:
    class Headers(Config):
        values: list[str] = env("HEADER_VALUES", [], splitter=";")

    assert Headers.load(environ={"HEADER_VALUES": "a, b; c"}).values == ["a, b", "c"]


def test_arrays_from_a_dict_take_lists_or_strings() -> None:
    config = Kinds.from_dict({"modes": ["a"], "ports": "8;9", "names": ("x", "y")})
    assert (config.modes, config.ports, config.names) == (["a"], (8, 9), ["x", "y"])


def test_empty_items_are_dropped() -> None:
    assert Kinds.load(environ={"NAMES": ",a,,b,"}).names == ["a", "b"]


@pytest.mark.parametrize(
    ("variable", "raw", "message"),
    [
        ("NUMBER", "4.5", "Input should be a valid integer, unable to parse string as an integer"),
        ("NUMBER", "ten", "Input should be a valid integer, unable to parse string as an integer"),
        ("RATIO", "half", "Input should be a valid number, unable to parse string as a number"),
        ("MODE", "test", "Input should be 'dev' or 'prod'"),
        ("COLOR", "blue", "Input should be 'red' or 'green'"),
        ("LEVEL", "trace", "Input should be one of: debug, info"),
        ("PORTS", "80;http", "item 2: Input should be a valid integer, unable to parse string as an integer"),
        ("MODES", "a|c", "item 2: Input should be 'a' or 'b'"),
        ("LEVELS", "x,z", "Input should be one of: x, y"),
    ],
)
def test_wrong_values_from_env_are_errors(variable: str, raw: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Kinds.load(environ={variable: raw})
    [issue] = caught.value.report.failed[0].issues
    assert issue.error == message
    assert issue.variable is not None
    assert issue.variable.env == variable


def test_render_writes_values_as_set_in_the_environment() -> None:
    kinds = {name: analyze(info) for name, info in Kinds.model_fields.items()}
    assert kinds["flag"].render(True) == "true"
    assert kinds["color"].render(Color.GREEN) == "green"
    assert kinds["ports"].render((80, 443)) == "80;443"
    assert kinds["modes"].render(["a", "b"]) == "a|b"
    assert kinds["secret"].render(SecretStr("hunter2")) == "***"
    assert kinds["secret"].render("plain") == "***"
    assert kinds["maybe"].render(None) == ""
