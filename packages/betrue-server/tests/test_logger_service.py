"""The ``logger`` service and log settings in code (``Application(log=...)``), beside the LOG_* variables."""

from __future__ import annotations

from typing import Any

import pytest
from loguru import logger

from betrue.server import Application, Service
from betrue.server.testing import TestApp


class Mailer(Service):
    name = "mailer"
    deps = ("logger",)

    async def start(self) -> Mailer:
        self.services["logger"].info("mailer ready")
        return self


async def test_a_service_gets_the_logger_bound_to_its_app() -> None:
    records: list[Any] = []
    sink = logger.add(lambda message: records.append(message.record), level="INFO")
    try:
        app = Application("shop", http=False, env_file=None, environ={})
        app.add_service(Mailer)
        async with TestApp(app):
            pass
    finally:
        logger.remove(sink)
    line = next(record for record in records if record["message"] == "mailer ready")
    assert line["extra"]["app"] == "shop"


async def test_log_settings_in_code_are_defaults_the_environment_still_overrides() -> None:
    app = Application("shop", http=False, env_file=None, environ={}, log={"level": "WARNING", "calls": "errors"})
    async with TestApp(app):
        assert (app.config.log_level, app.config.log_calls) == ("WARNING", "errors")
    env = Application("shop", http=False, env_file=None, environ={"LOG_LEVEL": "DEBUG"}, log={"level": "WARNING"})
    async with TestApp(env):
        assert env.config.log_level == "DEBUG"


def test_an_unknown_log_setting_is_refused_naming_it() -> None:
    with pytest.raises(ValueError, match=r"unknown keys \['colour'\]"):
        Application("shop", http=False, env_file=None, log={"colour": True})


class OwnLogger(Service):
    name = "logger"

    async def start(self) -> OwnLogger:
        self.lines: list[str] = []
        return self

    def info(self, message: str) -> None:
        self.lines.append(message)


async def test_a_logger_of_your_own_replaces_it() -> None:
    app = Application("shop", http=False, env_file=None, environ={})
    app.replace_service("logger", OwnLogger)
    app.add_service(Mailer)
    async with TestApp(app) as t:
        assert t.service("logger").lines == ["mailer ready"]
