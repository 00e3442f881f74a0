"""The OpenAPI 3.1 document of an application's commands: one ``POST <prefix>/<code>`` path each.

Tag = the command's group; the input schema is the request body; the output schema sits inside
the success envelope; each declared error is a response with the error envelope; commands whose
code starts with ``_`` are hidden. No ``servers`` entry is written, so Swagger UI's "Try it out"
calls the server that served the document.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from betrue.server.auth.stage import security_schemes as auth_schemes
from betrue.server.commands import Command
from betrue.server.docs._schemas import SchemaComponents
from betrue.server.errors import BetrueError, Forbidden, InternalError, Unauthorized, ValidationError
from betrue.server.streams.spec import describe_stream

if TYPE_CHECKING:
    from betrue.server.application import Application

__all__ = ["BEARER_SCHEME", "ERROR_ENVELOPE", "needs_auth", "openapi_document"]

OPENAPI_VERSION = "3.1.0"

BEARER_SCHEME: dict[str, Any] = {
    "type": "http",
    "scheme": "bearer",
    "description": "The token the application's authenticator accepts (Authorization: Bearer <token>)",
}
"""The security scheme written when commands need a caller (``bearerAuth``)."""

ERROR_ENVELOPE: dict[str, Any] = {
    "type": "object",
    "description": "The error envelope every transport answers with",
    "required": ["code", "status", "error", "traceId"],
    "properties": {
        "code": {"type": "integer", "description": "HTTP-like code (also the HTTP status)"},
        "status": {"type": "string", "description": "Stable error name, e.g. ValidationError"},
        "error": {
            "type": "object",
            "required": ["message"],
            "properties": {"message": {"type": "string"}, "details": {}},
        },
        "traceId": {"type": "string"},
    },
}


def needs_auth(command: Command) -> bool:
    """Whether a command declares a caller requirement (anything but None and ``"public"``)."""
    return command.auth is not None and command.auth != "public"


def _success(result: dict[str, Any] | None, command: Command) -> dict[str, Any]:
    return {
        "type": "object",
        "description": "The success envelope; `result` is what the command returns",
        "required": ["code", "status", "result", "traceId"],
        "properties": {
            "code": {"type": "integer", "examples": [200]},
            "status": {"type": "string", "examples": ["Success"]},
            "result": result if result is not None else {"description": f"What {command.code} returns (undeclared)"},
            "traceId": {"type": "string"},
        },
    }


def _error_responses(errors: Sequence[type[BetrueError]]) -> dict[str, Any]:
    by_code: dict[int, list[type[BetrueError]]] = {}
    for error in errors:
        by_code.setdefault(error.code, [])
        if error not in by_code[error.code]:
            by_code[error.code].append(error)
    responses: dict[str, Any] = {}
    for code in sorted(by_code):
        statuses = [error.status for error in by_code[code]]
        text = "; ".join(
            f"{error.status}: {error.__doc__.strip().splitlines()[0]}"
            if error.__doc__ and error.__doc__ is not BetrueError.__doc__
            else error.status
            for error in by_code[code]
        )
        responses[str(code)] = {
            "description": text,
            "content": {
                "application/json": {
                    "schema": {
                        "allOf": [
                            {"$ref": "#/components/schemas/ErrorEnvelope"},
                            {"properties": {"status": {"type": "string", "examples": statuses}}},
                        ]
                    }
                }
            },
        }
    return responses


def _auth_text(auth: Any) -> str:
    if isinstance(auth, str):
        return f"Auth: {auth}."
    return f"Auth: one of the roles {', '.join(auth)}."


def _operation(
    command: Command, components: SchemaComponents, requirement: list[dict[str, list[str]]], default_auth: bool
) -> dict[str, Any]:
    input_schema = components.schema_of(command.input, where=command.code, direction="input")
    output_schema = components.schema_of(command.output, where=command.code, direction="output")
    errors: list[type[BetrueError]] = [ValidationError, *command.errors]
    requires = needs_auth(command) or (default_auth and command.auth is None)
    if requires:
        errors += [Unauthorized, Forbidden]
    errors.append(InternalError)
    summary = (command.description or command.code).strip().splitlines()[0][:120]
    description = command.description.strip() if command.description.strip() != summary else ""
    if command.auth is not None:
        description = f"{description}\n\n{_auth_text(command.auth)}".strip()
    operation: dict[str, Any] = {
        "tags": [command.group],
        "operationId": command.code.replace("/", "."),
        "summary": summary,
        "requestBody": {
            "required": command.input is not None,
            "content": {
                "application/json": {"schema": input_schema if input_schema is not None else {"type": "object"}}
            },
        },
        "responses": {
            "200": {
                "description": "Success",
                "content": {"application/json": {"schema": _success(output_schema, command)}},
            },
            **_error_responses(errors),
            "default": {
                "description": "Any other error, in the same envelope",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorEnvelope"}}},
            },
        },
    }
    if description:
        operation["description"] = description
    if requirement:
        if command.auth == "public":
            operation["security"] = []
        elif requires:
            operation["security"] = requirement
    if command.auth is not None and not isinstance(command.auth, str):
        operation["x-betrue-roles"] = list(command.auth)
    if command.idempotent:
        operation["x-betrue-idempotent"] = True
    if command.stream is not None:
        operation["x-betrue-stream"] = True
        streamed = describe_stream(command)  # multipart/raw request body, binary 200 (betrue.server.streams)
        operation.update({key: streamed[key] for key in ("requestBody",) if key in streamed})
        operation["responses"].update(streamed.get("responses", {}))
    return operation


def openapi_document(
    app: Application,
    *,
    title: str | None = None,
    version: str = "1.0.0",
    description: str | None = None,
    api_prefix: str = "/api",
    security_schemes: Mapping[str, Any] | None = None,
    include_hidden: bool = False,
) -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``app``'s commands, as a JSON-able dict.

    A ``bearerAuth`` scheme is written when the app has an ``auth`` service or a command needs a
    caller; with an ``auth`` service, commands without an ``auth`` rule are documented as needing
    one (the app's default) and ``"public"`` ones as open. ``security_schemes`` replaces the scheme.

    Example:
        >>> from betrue.server import Application, Group
        >>> chat = Group("chat")
        >>> @chat.command("send", input={"type": "object", "properties": {"text": {"type": "string"}}})
        ... async def send(params, ctx):
        ...     return {"ok": True}
        >>> doc = openapi_document(Application("demo", groups=[chat], http=False))
        >>> list(doc["paths"]), doc["paths"]["/api/chat/send"]["post"]["tags"]
        (['/api/chat/send'], ['chat'])
    """
    commands = sorted(
        (command for command in app.commands.values() if include_hidden or not command.hidden),
        key=lambda command: command.code,
    )
    has_auth_service = "auth" in app.container.specs
    secured = has_auth_service or any(needs_auth(command) for command in commands)
    schemes = dict(security_schemes or auth_schemes(app) or {"bearerAuth": BEARER_SCHEME}) if secured else {}
    requirement: list[dict[str, list[str]]] = [{name: []} for name in schemes]
    components = SchemaComponents()
    components.register("ErrorEnvelope", ERROR_ENVELOPE)
    prefix = "/" + api_prefix.strip("/") if api_prefix.strip("/") else ""
    paths = {
        f"{prefix}/{command.code}": {"post": _operation(command, components, requirement, has_auth_service)}
        for command in commands
    }
    groups = sorted({command.group for command in commands})
    tags = [
        {"name": name, "description": app.groups[name].description}
        if name in app.groups and app.groups[name].description
        else {"name": name}
        for name in groups
    ]
    document: dict[str, Any] = {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": title or app.name,
            "version": version,
            "description": description or f"Commands of {app.name}: POST {prefix}/<code> with JSON params.",
        },
        "tags": tags,
        "paths": paths,
        "components": {"schemas": components.schemas},
    }
    if schemes:
        document["components"]["securitySchemes"] = schemes
        if has_auth_service:
            document["security"] = requirement
    return document
