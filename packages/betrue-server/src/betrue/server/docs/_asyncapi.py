"""The AsyncAPI 3.0 document of an application: its declared events as WebSocket pushes.

The WebSocket channel carries command calls (``{"id", "command", "params", "meta"}`` answered by
the envelope plus ``"id"``) and the pushes of declared events (``{"event", "data"}``). NATS
subjects can join as channels of their own once the NATS event format is fixed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from betrue.server.docs._schemas import SchemaComponents
from betrue.server.eventdecl import EventDeclaration, declared_events

if TYPE_CHECKING:
    from betrue.server.application import Application

__all__ = ["asyncapi_document"]

ASYNCAPI_VERSION = "3.0.0"

_CALL: dict[str, Any] = {
    "type": "object",
    "required": ["id", "command"],
    "properties": {
        "id": {"description": "Chosen by the client; the reply carries it back", "type": ["integer", "string"]},
        "command": {"type": "string", "description": "A command code, e.g. chat/send (see the OpenAPI document)"},
        "params": {"type": "object", "description": "The command's input"},
        "meta": {"type": "object", "additionalProperties": {"type": "string"}, "description": "Headers"},
    },
}
_REPLY: dict[str, Any] = {
    "type": "object",
    "required": ["id", "code", "status", "traceId"],
    "description": "The envelope of the call (result or error), with the call's id",
    "properties": {
        "id": {"type": ["integer", "string"]},
        "code": {"type": "integer"},
        "status": {"type": "string"},
        "result": {},
        "error": {"type": "object", "properties": {"message": {"type": "string"}, "details": {}}},
        "traceId": {"type": "string"},
    },
}


def _message_key(name: str) -> str:
    return name.replace("/", "_")


def _event_message(declaration: EventDeclaration, components: SchemaComponents) -> dict[str, Any]:
    data = components.schema_of(declaration.schema, where=declaration.name, direction="output")
    message: dict[str, Any] = {
        "name": declaration.name,
        "title": declaration.name,
        "payload": {
            "type": "object",
            "required": ["event", "data"],
            "properties": {"event": {"const": declaration.name}, "data": data if data is not None else {}},
        },
    }
    if declaration.description:
        message["summary"] = declaration.description.strip().splitlines()[0]
        message["description"] = declaration.description
    if declaration.to:
        message["x-betrue-to"] = list(declaration.to)
    if declaration.group:
        message["tags"] = [{"name": declaration.group}]
    return message


def _receivers(declaration: EventDeclaration) -> str:
    if not declaration.to:
        return "Pushed to every connection (or those a publisher's `to` filter selects)."
    keys = ", ".join(f"`{key}`" for key in declaration.to)
    return f"Pushed to the connections whose attributes match the publisher's `to` filter on {keys}."


def asyncapi_document(
    app: Application,
    *,
    title: str | None = None,
    version: str = "1.0.0",
    ws_path: str = "/ws",
) -> dict[str, Any]:
    """The AsyncAPI 3.0 document of ``app``'s declared events and WebSocket protocol.

    Example:
        >>> from betrue.server import Application, declare_event
        >>> app = Application("chat", http=False)
        >>> _ = declare_event(app, "chat.message", schema={"type": "object"}, to=["room"])
        >>> doc = asyncapi_document(app)
        >>> doc["asyncapi"], list(doc["channels"]["ws"]["messages"])
        ('3.0.0', ['call', 'reply', 'chat.message'])
    """
    components = SchemaComponents()
    events = declared_events(app)
    messages: dict[str, Any] = {
        "call": {"name": "call", "title": "Command call", "payload": _CALL},
        "reply": {"name": "reply", "title": "Command reply", "payload": _REPLY},
    }
    for declaration in events:
        messages[_message_key(declaration.name)] = _event_message(declaration, components)
    channel_ref = {"$ref": "#/channels/ws"}
    operations: dict[str, Any] = {
        "call": {
            "action": "receive",
            "channel": channel_ref,
            "summary": "Call a command over the WebSocket",
            "messages": [{"$ref": "#/channels/ws/messages/call"}],
            "reply": {"channel": channel_ref, "messages": [{"$ref": "#/channels/ws/messages/reply"}]},
        }
    }
    channels: dict[str, Any] = {
        "ws": {
            "address": ws_path,
            "title": "WebSocket",
            "description": "Command calls from the client, their replies, and event pushes from the server.",
            "messages": {key: {"$ref": f"#/components/messages/{key}"} for key in messages},
        }
    }
    for declaration in events:
        key = _message_key(declaration.name)
        operations[f"push.{key}"] = {
            "action": "send",
            "channel": channel_ref,
            "summary": declaration.description.strip().splitlines()[0] if declaration.description else key,
            "description": _receivers(declaration),
            "messages": [{"$ref": f"#/channels/ws/messages/{key}"}],
        }
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": title or app.name,
            "version": version,
            "description": f"Events and the WebSocket protocol of {app.name}.",
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": components.schemas},
    }
