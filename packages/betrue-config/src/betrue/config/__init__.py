"""betrue.config: configuration on pydantic-settings with env docs, error tables and contexts.

Example:
    >>> from betrue.config import Config, docs_table, env
    >>> class HttpConfig(Config):
    ...     '''HTTP server.'''
    ...     port: int = env("HTTP_PORT", 3000, description="Port")
    >>> HttpConfig.load(environ={"HTTP_PORT": "8080"}).port
    8080
"""

from betrue.config.config import Config
from betrue.config.docs import docs_markdown, docs_table, env_example
from betrue.config.fields import env
from betrue.config.markers import MarkerError, replace_between_markers
from betrue.config.spec import ConfigSpec, EnvVar
from betrue.config.types import EnvFile, Url
from betrue.config.validation import (
    ConfigError,
    ConfigIssue,
    ConfigReport,
    ConfigResult,
    load_configs,
    validate_configs,
)

__all__ = [
    "Config",
    "ConfigError",
    "ConfigIssue",
    "ConfigReport",
    "ConfigResult",
    "ConfigSpec",
    "EnvFile",
    "EnvVar",
    "MarkerError",
    "Url",
    "docs_markdown",
    "docs_table",
    "env",
    "env_example",
    "load_configs",
    "replace_between_markers",
    "validate_configs",
]
