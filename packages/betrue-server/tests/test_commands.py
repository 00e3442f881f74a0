"""Commands: the decorator and class forms register the same thing; definition mistakes fail early."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from betrue.server import Application, Command, CommandClass, Conflict, Context, Group, Schema
from betrue.server.testing import TestApp


async def test_decorator_and_class_forms_register_the_same_command() -> None:
    rooms = Group("rooms", auth="public")

    @rooms.command("join", input={"type": "object"}, errors=[Conflict], idempotent=True)
    async def join(params: dict[str, Any], ctx: Context) -> str:
        """Join a room."""
        return "joined"

    @rooms.add
    class Leave(CommandClass):
        """Leave a room."""

        name = "leave"
        input: ClassVar[Schema] = {"type": "object"}
        errors = (Conflict,)
        idempotent = True

        async def handle(self, params: dict[str, Any], ctx: Context) -> str:
            return "left"

    by_code = {command.code: command for command in rooms.commands}
    for code, description in (("rooms/join", "Join a room."), ("rooms/leave", "Leave a room.")):
        command = by_code[code]
        assert (command.description, command.errors, command.auth, command.idempotent) == (
            description,
            (Conflict,),
            "public",
            True,
        )
        assert command.group == "rooms"
    async with TestApp(Application("rooms", groups=[rooms], http=False, env_file=None)) as t:
        assert await t.result("rooms/join") == "joined"
        assert await t.result("rooms/leave") == "left"


def test_codes_starting_with_an_underscore_are_hidden() -> None:
    async def handler(params: Any, ctx: Context) -> None:
        return None

    assert Command("_admin/x", handler).hidden
    assert not Command("admin/x", handler).hidden


@pytest.mark.parametrize("code", ["", "a//b", "a/b c", "a/ü", "/a"])
def test_a_malformed_code_is_refused(code: str) -> None:
    async def handler(params: Any, ctx: Context) -> None:
        return None

    with pytest.raises(ValueError, match="segments of letters, digits, _ and -"):
        Command(code, handler)


def test_a_sync_handler_is_refused() -> None:
    with pytest.raises(TypeError, match="async function"):
        Command("a/b", lambda params, ctx: None)  # type: ignore[arg-type,return-value]


def test_a_class_without_code_or_handle_is_refused() -> None:
    class NoCode(CommandClass):
        async def handle(self, params: Any, ctx: Context) -> None:
            return None

    with pytest.raises(ValueError, match="set `code`"):
        NoCode.as_command()


def test_a_duplicate_code_is_refused_by_the_app() -> None:
    group = Group("a")

    @group.command("b")
    async def first(params: Any, ctx: Context) -> None:
        return None

    app = Application("dup", groups=[group], http=False, env_file=None)
    with pytest.raises(ValueError, match="duplicate command 'a/b'"):
        app.add_command(group.commands[0])
