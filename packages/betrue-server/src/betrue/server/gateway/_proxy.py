"""Proxy commands: a command of another app, registered here with its schemas, whose handler is a client call."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from loguru import logger

from betrue.server.client.transports.base import Transport
from betrue.server.commands import Command
from betrue.server.errors import BadGateway, error_class, error_from_envelope
from betrue.server.response import Response
from betrue.server.types import Handler
from betrue.server.validation import SchemaError, compile_schema

if TYPE_CHECKING:
    from betrue.server.context import Context

__all__ = ["describe_upstream", "proxy_command"]

_CODE = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*(/[A-Za-z_][A-Za-z0-9_\-]*)*$")


def describe_upstream(result: Any) -> list[dict[str, Any]]:
    """The command descriptions of an ``_app/commands`` result; raises BadGateway when it has another shape.

    Example:
        >>> describe_upstream({"app": "game", "commands": [{"code": "game/load", "input": None}]})
        [{'code': 'game/load', 'input': None}]
    """
    listed = result.get("commands") if isinstance(result, Mapping) else None
    if not isinstance(listed, list):
        raise BadGateway("_app/commands answered without a list of commands")
    return [
        dict(item)
        for item in listed
        if isinstance(item, Mapping) and isinstance(item.get("code"), str) and _CODE.match(item["code"])
    ]


def proxy_command(description: Mapping[str, Any], target: str | Transport, *, code: str | None = None) -> Command:
    """A command described by an upstream (``describe_command``'s shape), forwarded to ``target``.

    ``code`` publishes it under another code than the upstream's (a rename); the upstream is still called
    with its own.

    Its input is validated here too (bad requests stop at the gateway); ``idempotent`` lets the
    client retry it; unusable schemas are dropped with a warning (the upstream still validates).

    Example:
        >>> command = proxy_command({"code": "game/load", "input": {"type": "object"}}, "http://127.0.0.1:3001")
        >>> command.code, command.input
        ('game/load', {'type': 'object'})
    """
    upstream_code = str(description["code"])
    code = code or upstream_code
    statuses = description.get("errors")
    errors = tuple(
        found for status in (statuses if isinstance(statuses, list) else ()) if (found := error_class(str(status)))
    )
    auth = description.get("auth")
    if not (
        auth is None or isinstance(auth, str) or (isinstance(auth, list) and all(isinstance(a, str) for a in auth))
    ):
        auth = None
    key = target if isinstance(target, str) else target.target
    return Command(
        code=code,
        handler=_forwarder(upstream_code, target),
        input=_usable(description.get("input"), code, "input"),
        output=_usable(description.get("output"), code, "output"),
        description=str(description.get("description") or ""),
        errors=errors,
        auth=auth,
        idempotent=description.get("idempotent") is True,
        extra={"upstream": (key, dict(description))},
    )


def _usable(schema: Any, code: str, direction: str) -> Mapping[str, Any] | None:
    if schema is None:
        return None
    try:
        if not isinstance(schema, Mapping):
            raise SchemaError(code, f"{direction} schema is not an object")
        compile_schema(schema, where=f"{code} (upstream)", direction="output" if direction == "output" else "input")
    except SchemaError as error:
        logger.warning("{} {} schema from its upstream is unusable, not checked here: {}", code, direction, error)
        return None
    return schema


def _forwarder(code: str, target: str | Transport) -> Handler:
    async def forward(params: Any, ctx: Context) -> Response:
        client = ctx.app.client
        transport = client.transport(target) if isinstance(target, str) else target
        envelope = await client.call_envelope(code, params, ctx=ctx, transport=transport)
        if "error" in envelope:
            raise error_from_envelope(dict(envelope))
        status = envelope.get("status")
        answer = envelope.get("code")
        return Response(
            envelope.get("result"),
            code=answer if isinstance(answer, int) else 200,
            status=status if isinstance(status, str) else "Success",
        )

    forward.__doc__ = f"Forwards {code} to its upstream"
    return forward
