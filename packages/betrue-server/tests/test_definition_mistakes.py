"""Mistakes a newcomer or a port from @be-true makes in an app's definition: each fails early and says why."""

from __future__ import annotations

from typing import Any

import pytest

from betrue.config import Config, env
from betrue.server import Application, CommandClass, Context, DependencyError, Service, openapi_document
from betrue.server.testing import TestApp
from betrue.server.wire import encode_json


class Undocumented(CommandClass):
    code = "util/undocumented"

    async def handle(self, params: Any, ctx: Context) -> str:
        return "ok"


class Load(CommandClass):
    """Load a saved game."""

    code = "load"

    async def handle(self, params: Any, ctx: Context) -> str:
        return "loaded"


async def test_an_undocumented_command_class_has_no_description_not_the_frameworks() -> None:
    assert Undocumented.as_command().description == ""
    app = Application("docs", http=False, env_file=None)
    app.add_command(Undocumented.as_command())
    async with TestApp(app) as t:
        listed = {c["code"]: c for c in (await t.result("_app/commands"))["commands"]}
    assert listed["util/undocumented"]["description"] == ""
    assert b"The class form of a command" not in encode_json(openapi_document(app))


async def test_a_single_segment_code_is_its_own_group() -> None:
    command = Load.as_command()
    assert (command.code, command.group, command.description) == ("load", "load", "Load a saved game.")
    app = Application("game", http=False, env_file=None)
    app.add_command(command)
    async with TestApp(app) as t:
        assert await t.result("load") == "loaded"


class Mailer(Service):
    name = "mailer"


def test_config_for_a_service_without_a_config_class_is_refused_naming_it() -> None:
    app = Application("mail", http=False, env_file=None)
    with pytest.raises(DependencyError, match=r"'mailer': config=.* no config_class"):
        app.add_service(Mailer, config={"smtpHost": "mail.local"})


class MailConfig(Config):
    smtp_host: str = env("SMTP_HOST", "localhost", description="SMTP server")


class ConfiguredMailer(Service):
    name = "mailer"
    config_class = MailConfig


async def test_config_given_in_code_reaches_a_service_with_a_config_class() -> None:
    app = Application("mail", http=False, env_file=None, environ={})
    app.add_service(ConfiguredMailer, config={"smtp_host": "mail.local"})
    async with TestApp(app) as t:
        assert t.service("mailer").config.smtp_host == "mail.local"


class Game:
    name = "game"

    def __init__(self, db: Any) -> None:
        self.db = db


async def test_a_required_dependency_missing_from_deps_names_the_service() -> None:
    app = Application("game", http=False, env_file=None)
    app.add_service({"url": "x"}, name="db")
    app.add_service(Game)  # forgot deps=("db",)
    with pytest.raises(DependencyError, match=r"service 'game'.*requires 'db'.*add them to `deps`"):
        await app.start(serve=False)
    fixed = Application("game", http=False, env_file=None)
    fixed.add_service({"url": "x"}, name="db")
    fixed.add_service(Game, deps=("db",))
    async with TestApp(fixed) as t:
        assert t.service("game").db == {"url": "x"}
