"""Loads and validates the configs of every service together, at start (the one place that does)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from betrue.config import Config, ConfigReport, ConfigSpec, docs_markdown, load_configs, validate_configs
from betrue.server.di import ServiceSpec

__all__ = ["ConfigLoader"]


class ConfigLoader:
    """Builds each service's config with its context, overrides and description; collects all errors."""

    def __init__(self, *, environ: Mapping[str, str] | None = None, env_file: str | None = ".env") -> None:
        self.environ = environ
        self.env_file = env_file
        self.forced: dict[str, dict[str, Any]] = {}
        """Values set after loading, over the environment, by service name (tests: ``{"http": {"port": 0}}``)."""

    def specs(self, services: Iterable[ServiceSpec]) -> dict[str, ConfigSpec[Config]]:
        """The config spec of every service that has a config class, by service name."""
        return {
            service.name: service.config_class.spec(
                context=service.context or "",
                description=service.description or "",
                overrides=service.config,
            )
            for service in services
            if service.config_class is not None
        }

    def load_all(self, services: Iterable[ServiceSpec]) -> dict[str, Config]:
        """Every service's loaded config; raises ``ConfigError`` with one table per failing config."""
        specs = self.specs(services)
        loaded = load_configs(specs.values(), environ=self.environ, env_file=self.env_file)
        configs = dict(zip(specs, loaded, strict=True))
        for name, values in self.forced.items():
            if name in configs:
                configs[name] = configs[name].model_copy(update=values)
        return configs

    def check(self, services: Iterable[ServiceSpec]) -> ConfigReport:
        """Load every config without raising: the report says what is wrong (``betrue config check``)."""
        return validate_configs(self.specs(services).values(), environ=self.environ, env_file=self.env_file)

    def docs(self, services: Iterable[ServiceSpec]) -> str:
        """The markdown tables of every service's environment variables (``betrue config docs``)."""
        return docs_markdown(self.specs(services).values())
