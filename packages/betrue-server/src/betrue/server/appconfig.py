"""The application's own settings: shutdown grace, output validation, log format."""

from __future__ import annotations

from typing import Literal

from betrue.config import Config, env

__all__ = ["AppConfig"]


class AppConfig(Config):
    """Settings of the application itself (service ``app``)."""

    shutdown_timeout: float = env(
        "SHUTDOWN_TIMEOUT", 10.0, description="Seconds in-flight calls may take to finish at shutdown"
    )
    output_validation: Literal["error", "warn", "off"] = env(
        "OUTPUT_VALIDATION",
        "error",
        description="An invalid command result: 'error' answers 500, 'warn' only logs, 'off' skips the check",
    )
    validation_engine: Literal["jsonschema-rs", "jsonschema"] = env(
        "VALIDATION_ENGINE",
        "jsonschema-rs",
        description="Engine of JSON Schema dicts: jsonschema-rs (fast) or jsonschema (extra betrue-server[jsonschema])",
    )
    log_level: Literal["TRACE", "DEBUG", "INFO", "SUCCESS", "WARNING", "ERROR", "CRITICAL"] = env(
        "LOG_LEVEL", "INFO", description="Lowest level written to the log"
    )
    log_pretty: bool = env("LOG_PRETTY", False, description="Human-readable coloured lines instead of JSON lines")
    log_calls: Literal["all", "errors", "off"] = env(
        "LOG_CALLS", "all", description="Which calls get their one line (status, duration): all, errors only, none"
    )
