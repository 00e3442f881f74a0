"""The AsyncAPI 3.0 document of an app's events and WebSocket protocol (betrue.server.docs._asyncapi)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
from pydantic import BaseModel

from betrue.server import Application, Group, asyncapi_document, declare_event

SCHEMA = json.loads((Path(__file__).parent / "data" / "asyncapi-3.0.0.schema.json").read_text())


class Message(BaseModel):
    room: str
    text: str
    author: Author


class Author(BaseModel):
    name: str


Message.model_rebuild()


def _errors(document: dict[str, Any]) -> list[str]:
    return [error.message for error in jsonschema.Draft7Validator(SCHEMA).iter_errors(document)]


def _app() -> Application:
    chat = Group("chat", description="Chat rooms")
    declare_event(chat, "chat.message", schema=Message, description="A message was posted\n\nTo the room.", to=["room"])
    declare_event(chat, "chat.typing", schema={"type": "object", "properties": {"user": {"type": "string"}}})
    app = Application("chat", groups=[chat], http=False)
    declare_event(app, "system.shutdown", description="The server is going away")
    return app


def test_the_document_validates_against_the_asyncapi_3_0_schema() -> None:
    document = asyncapi_document(_app())
    assert _errors(document) == []
    assert document["asyncapi"] == "3.0.0"
    assert document["info"]["title"] == "chat"


def test_an_app_without_events_still_documents_the_call_protocol() -> None:
    document = asyncapi_document(Application("empty", http=False))
    assert _errors(document) == []
    assert list(document["channels"]["ws"]["messages"]) == ["call", "reply"]
    assert document["operations"]["call"]["reply"]["messages"] == [{"$ref": "#/channels/ws/messages/reply"}]


def test_each_declared_event_is_a_push_on_the_ws_channel() -> None:
    document = asyncapi_document(_app(), ws_path="/socket")
    channel = document["channels"]["ws"]
    assert channel["address"] == "/socket"
    assert list(channel["messages"]) == ["call", "reply", "chat.message", "chat.typing", "system.shutdown"]
    push = document["operations"]["push.chat.message"]
    assert push["action"] == "send"
    assert push["channel"] == {"$ref": "#/channels/ws"}
    assert push["summary"] == "A message was posted"
    assert "`room`" in push["description"]


def test_the_message_is_event_and_data_with_the_schema_hoisted() -> None:
    document = asyncapi_document(_app())
    message = document["components"]["messages"]["chat.message"]
    payload = message["payload"]
    assert payload["required"] == ["event", "data"]
    assert payload["properties"]["event"] == {"const": "chat.message"}
    assert payload["properties"]["data"] == {"$ref": "#/components/schemas/Message"}
    assert document["components"]["schemas"]["Message"]["properties"]["author"] == {
        "$ref": "#/components/schemas/Author"
    }
    assert message["x-betrue-to"] == ["room"]
    assert message["tags"] == [{"name": "chat"}]
    shutdown = document["components"]["messages"]["system.shutdown"]
    assert shutdown["payload"]["properties"]["data"] == {}
    assert "tags" not in shutdown
