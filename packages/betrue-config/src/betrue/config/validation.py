"""Validate many configs at once: every problem of every config, as one markdown table per config."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, TypeAlias, TypeVar

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from betrue.config._markdown import table
from betrue.config.types import EnvFile

if TYPE_CHECKING:
    from betrue.config.config import Config
    from betrue.config.spec import ConfigSpec, EnvVar

    SpecLike: TypeAlias = ConfigSpec[Config] | type[Config]

C = TypeVar("C", bound="Config", covariant=True)

ERROR_COLUMNS = ("error", "required", "default", "env", "description", "type")
_MISSING = "Required, not set"


@dataclass(frozen=True)
class ConfigIssue:
    """One problem with one config: the message and the variable it is about (if any).

    The message never holds the value that was read, so a secret cannot leak through it.
    """

    error: str
    field: str | None = None
    variable: EnvVar | None = None

    def row(self) -> tuple[str, ...]:
        """This issue as a row under `ERROR_COLUMNS`."""
        v = self.variable
        if v is None:
            return (self.error, "", "", "", "", "")
        return (self.error, "yes" if v.required else "", v.default, v.env or "", v.description, v.type)


@dataclass(frozen=True)
class ConfigResult(Generic[C]):
    """The outcome of loading one spec: the config, or the issues that stopped it."""

    spec: ConfigSpec[C]
    config: C | None
    issues: tuple[ConfigIssue, ...] = ()

    @property
    def ok(self) -> bool:
        return self.config is not None

    def table(self) -> str:
        """The error table of this config under a `## <description>` heading; empty when ok."""
        if self.ok:
            return ""
        return f"## {self.spec.heading}\n\n{table(ERROR_COLUMNS, [issue.row() for issue in self.issues])}"


class ConfigReport:
    """The results of `validate_configs`, in the order the specs were given.

    Example:
        >>> from betrue.config import Config, env, validate_configs
        >>> class Db(Config):
        ...     '''Database.'''
        ...     dsn: str = env("DB_DSN", description="Connection string")
        >>> report = validate_configs([Db], environ={})
        >>> report.ok
        False
        >>> print(report.render())
        ## Database
        <BLANKLINE>
        | error             | required | default | env    | description       | type   |
        |-------------------|----------|---------|--------|-------------------|--------|
        | Required, not set | yes      |         | DB_DSN | Connection string | string |
    """

    def __init__(self, results: Sequence[ConfigResult[Config]]) -> None:
        self.results: tuple[ConfigResult[Config], ...] = tuple(results)

    @property
    def ok(self) -> bool:
        """Whether every config loaded."""
        return all(result.ok for result in self.results)

    @property
    def failed(self) -> tuple[ConfigResult[Config], ...]:
        """The results with issues."""
        return tuple(result for result in self.results if not result.ok)

    @property
    def configs(self) -> tuple[Config | None, ...]:
        """The loaded configs, aligned with the specs; `None` where one failed."""
        return tuple(result.config for result in self.results)

    def tables(self) -> tuple[str, ...]:
        """One error table per failed config."""
        return tuple(result.table() for result in self.failed)

    def render(self) -> str:
        """All error tables, separated by blank lines; empty when every config loaded."""
        return "\n\n".join(self.tables())

    def raise_for_errors(self) -> None:
        """Raise `ConfigError` listing every problem, if there is any."""
        if not self.ok:
            raise ConfigError(self)


class ConfigError(Exception):
    """Configs that failed to load; `str()` is their error tables, ready to print.

    Example:
        >>> from betrue.config import Config, ConfigError, env
        >>> class Http(Config):
        ...     port: int = env("HTTP_PORT", 3000, description="Port")
        >>> try:
        ...     Http.load(environ={"HTTP_PORT": "eighty"})
        ... except ConfigError as error:
        ...     print(error.report.failed[0].issues[0].error)
        Input should be a valid integer, unable to parse string as an integer
    """

    def __init__(self, report: ConfigReport) -> None:
        super().__init__(report.render())
        self.report = report

    @property
    def tables(self) -> tuple[str, ...]:
        """One error table per failed config."""
        return self.report.tables()


def validate_configs(
    specs: Iterable[SpecLike],
    *,
    environ: Mapping[str, str] | None = None,
    env_file: EnvFile | None = None,
) -> ConfigReport:
    """Load every spec (a config class stands for its spec without context) and collect every problem.

    Nothing stops at the first error: the report holds, per config, every missing required
    variable, wrong type, value outside an enum and bad URL. `environ` and `env_file` are as in
    `ConfigSpec.check`.

    Example:
        >>> from betrue.config import Config, env, validate_configs
        >>> class Http(Config):
        ...     port: int = env("HTTP_PORT", 3000)
        >>> report = validate_configs([Http.spec(context="game"), Http], environ={"GAME_HTTP_PORT": "81"})
        >>> [config.port for config in report.configs if isinstance(config, Http)]
        [81, 3000]
    """
    results = [
        (spec.spec() if isinstance(spec, type) else spec).check(environ=environ, env_file=env_file) for spec in specs
    ]
    return ConfigReport(results)


def load_configs(
    specs: Iterable[SpecLike],
    *,
    environ: Mapping[str, str] | None = None,
    env_file: EnvFile | None = None,
) -> list[Config]:
    """Load every spec or raise one `ConfigError` with the tables of all that failed.

    Example:
        >>> from betrue.config import Config, env, load_configs
        >>> class Http(Config):
        ...     port: int = env("HTTP_PORT", 3000)
        >>> [c.model_dump() for c in load_configs([Http], environ={})]
        [{'port': 3000}]
    """
    report = validate_configs(specs, environ=environ, env_file=env_file)
    report.raise_for_errors()
    return [config for config in report.configs if config is not None]


def issues_from_error(spec: ConfigSpec[Config], error: ValidationError) -> tuple[ConfigIssue, ...]:
    """Turn pydantic's errors into issues tied to the spec's variables, without input values."""
    variables = {variable.field: variable for variable in spec.variables()}
    issues = []
    for detail in error.errors(include_url=False, include_input=False):
        location = detail["loc"]
        name = location[0] if location and isinstance(location[0], str) else None
        variable = variables.get(name) if name else None
        message = _message(detail, secret=variable is not None and variable.secret)
        items = [str(part + 1) if isinstance(part, int) else part for part in location[1:]]
        if items:
            message = f"item {'.'.join(items)}: {message}"
        if name is not None and name not in variables:
            message = f"{name}: {message}"
        issues.append(ConfigIssue(message, name, variable))
    return tuple(issues)


def _message(detail: ErrorDetails, *, secret: bool) -> str:
    """Pydantic's message, plainer for a missing value and without a secret's length."""
    kind, context = detail["type"], detail.get("ctx", {})
    if kind == "missing":
        return _MISSING
    if secret and kind in ("too_short", "string_too_short") and "min_length" in context:
        return f"Secret should have at least {context['min_length']} characters"
    if secret and kind in ("too_long", "string_too_long") and "max_length" in context:
        return f"Secret should have at most {context['max_length']} characters"
    return detail["msg"]
