import pytest
from pydantic import Field

from betrue.config import Config, env
from betrue.config.fields import EnvMeta, env_meta


class Sample(Config):
    port: int = env("HTTP_PORT", 3000, description="Port", example="8080")
    hosts: list[str] = env("HOSTS", default_factory=lambda: ["a"], splitter=";")
    level: str = env("LEVEL", "info", choices=["debug", "info"])
    token: str = env("TOKEN")
    plain: int = Field(5, description="not from the environment")


def test_env_records_the_variable_splitter_choices_and_example() -> None:
    assert env_meta(Sample.model_fields["port"]) == EnvMeta("HTTP_PORT", ",", None, "8080")
    assert env_meta(Sample.model_fields["hosts"]) == EnvMeta("HOSTS", ";", None, "")
    assert env_meta(Sample.model_fields["level"]) == EnvMeta("LEVEL", ",", ("debug", "info"), "")
    assert env_meta(Sample.model_fields["plain"]) is None


def test_env_sets_default_required_and_description() -> None:
    fields = Sample.model_fields
    assert fields["port"].default == 3000
    assert fields["port"].description == "Port"
    assert not fields["port"].is_required()
    assert fields["token"].is_required()
    assert fields["hosts"].default_factory is not None


def test_default_factory_gives_a_fresh_value() -> None:
    first = Sample.from_dict({"token": "t"})
    second = Sample.from_dict({"token": "t"})
    assert first.hosts == ["a"]
    assert first.hosts is not second.hosts


def test_constraints_pass_through_to_pydantic() -> None:
    class Bounded(Config):
        port: int = env("PORT", 3000, ge=1, le=65535)
        name: str = env("NAME", "abc", min_length=2, max_length=4, pattern="^[a-z]+$")

    assert Bounded.load(environ={"PORT": "65535", "NAME": "ab"}).port == 65535
    report = Bounded.spec().check(environ={"PORT": "0", "NAME": "ABCDE"})
    assert [issue.error for issue in report.issues] == [
        "Input should be greater than or equal to 1",
        "String should have at most 4 characters",
    ]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "HTTP-PORT"}, "invalid environment variable name"),
        ({"name": "PORT", "splitter": ""}, "the splitter must not be empty"),
        ({"name": "PORT", "choices": []}, "choices must not be empty"),
        ({"name": "PORT", "default": 1, "default_factory": list}, "not both"),
    ],
)
def test_env_refuses_bad_declarations(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        env(**kwargs)  # type: ignore[arg-type]


def test_two_fields_on_one_variable_fail_at_definition() -> None:
    with pytest.raises(TypeError, match="fields 'a' and 'b' both read PORT"):

        class Twice(Config):
            a: int = env("PORT", 1)
            b: int = env("PORT", 2)
