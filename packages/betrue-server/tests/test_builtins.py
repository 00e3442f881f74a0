"""Built-in commands: _app/commands lists the public commands with schemas; _app/health answers."""

from __future__ import annotations

from typing import Any

from betrue.server import Application, Context, Group, NotFound
from betrue.server.testing import TestApp


async def test_app_commands_lists_public_commands_with_schemas_and_errors() -> None:
    notes = Group("notes")

    @notes.command("get", input={"type": "object", "properties": {"id": {"type": "integer"}}}, errors=[NotFound])
    async def get(params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        """Read one note."""
        return {}

    @notes.command("debug", hidden=True)
    async def debug(params: dict[str, Any], ctx: Context) -> None:
        return None

    async with TestApp(Application("notes", groups=[notes], http=False, env_file=None)) as t:
        listed = await t.result("_app/commands")
        health = await t.result("_app/health")
    assert listed["app"] == "notes"
    (command,) = listed["commands"]
    assert command["code"] == "notes/get"
    assert command["description"] == "Read one note."
    assert command["input"]["properties"] == {"id": {"type": "integer"}}
    assert command["errors"] == ["NotFound"]
    assert health == {"status": "ok", "app": "notes"}
