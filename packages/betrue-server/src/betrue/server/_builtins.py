"""Built-in commands: ``_app/commands`` (what this app serves, with schemas) and ``_app/health``."""

from __future__ import annotations

from typing import Any

from betrue.server.commands import Command, Group
from betrue.server.context import Context

__all__ = ["builtin_group", "describe_command"]


def describe_command(command: Command) -> dict[str, Any]:
    """The public description of a command, as ``_app/commands`` lists it and gateways read it."""
    from betrue.server.validation import compile_schema

    return {
        "code": command.code,
        "description": command.description,
        "input": compile_schema(command.input, where=command.code).json_schema if command.input is not None else None,
        "output": compile_schema(command.output, where=command.code, direction="output").json_schema
        if command.output is not None
        else None,
        "errors": sorted({error.status for error in command.errors}),
        "auth": command.auth if isinstance(command.auth, str | None) else list(command.auth),
        "idempotent": command.idempotent,
    }


def builtin_group() -> Group:
    app_group = Group("_app", description="Built-in commands of every betrue application")

    @app_group.command("commands", description="The commands this application serves, with their schemas")
    async def commands(params: Any, ctx: Context) -> dict[str, Any]:
        listed = [describe_command(c) for c in ctx.app.commands.values() if not c.hidden]
        return {"app": ctx.app.name, "commands": listed}

    @app_group.command("health", description="Liveness: answers while the application is serving")
    async def health(params: Any, ctx: Context) -> dict[str, Any]:
        return {"status": "ok", "app": ctx.app.name}

    return app_group
