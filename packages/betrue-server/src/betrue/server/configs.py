"""Loads and validates the configs of every service together, at start (the one place that does)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from betrue.config import Config, ConfigSpec, validate_configs

from betrue.server.di import ServiceSpec

__all__ = ["ConfigLoader"]


class ConfigLoader:
    """Builds each service's config with its context, overrides and description; collects all errors."""

    def __init__(self, *, environ: Mapping[str, str] | None = None, env_file: str | None = ".env") -> None:
        self.environ = environ
        self.env_file = env_file

    def specs(self, services: Iterable[ServiceSpec]) -> dict[str, ConfigSpec]:
        """The config spec of every service that has a config class, by service name."""
        return {
            service.name: ConfigSpec(
                service.config_class,
                context=service.context,
                overrides=service.config,
                description=service.description,
                name=service.name,
            )
            for service in services
            if service.config_class is not None
        }

    def load_all(self, services: Iterable[ServiceSpec]) -> dict[str, Config]:
        """Every service's loaded config; raises ``ConfigError`` with one table per failing config."""
        specs = self.specs(services)
        return validate_configs(specs, environ=self.environ, env_file=self.env_file)
