"""The chat service of @be-true's microservices example, ported: a store service and two command classes.

Alone: ``HTTP_PORT=3002 python examples/be-true-port/chat.py``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from betrue.config import Config, env
from betrue.server import Application, CommandClass, Context, Group, Schema, Service

chat = Group("chat", description="Rooms and their messages")


class ChatConfig(Config):
    """Chat"""

    history: int = env("CHAT_HISTORY", 50, description="Messages kept per room", ge=1)


class ChatStore(Service):
    """Messages in memory (the original kept them in an array too)."""

    name = "chatStore"
    deps = ("logger",)
    config_class = ChatConfig
    config: ChatConfig

    async def start(self) -> ChatStore:
        self.rooms: dict[str, list[dict[str, Any]]] = {}
        self.services["logger"].info("chat store ready, {} messages a room", self.config.history)
        return self

    def add(self, room: str, text: str) -> dict[str, Any]:
        messages = self.rooms.setdefault(room, [])
        message = {"id": len(messages) + 1, "room": room, "text": text}
        messages.append(message)
        del messages[: -self.config.history]
        return message


ROOM: dict[str, Any] = {"type": "string", "minLength": 1, "maxLength": 40}


@chat.add
class Send(CommandClass):
    """Post a message to a room."""

    name = "send"
    input: ClassVar[Schema] = {
        "type": "object",
        "properties": {"room": ROOM, "text": {"type": "string", "minLength": 1, "maxLength": 500}},
        "required": ["room", "text"],
        "additionalProperties": False,
    }

    async def handle(self, params: dict[str, str], ctx: Context) -> dict[str, Any]:
        store: ChatStore = await ctx.service("chatStore")
        return store.add(params["room"], params["text"])


@chat.add
class ListMessages(CommandClass):
    """The messages of a room, oldest first."""

    name = "list"
    input: ClassVar[Schema] = {"type": "object", "properties": {"room": ROOM}, "required": ["room"]}

    async def handle(self, params: dict[str, str], ctx: Context) -> list[dict[str, Any]]:
        store: ChatStore = await ctx.service("chatStore")
        return list(store.rooms.get(params["room"], []))


def add_chat(app: Application) -> Application:
    """Put the chat commands and their service into ``app`` (its own process, or the one-process shape)."""
    app.include(chat)
    app.add_service(ChatStore)
    return app


if __name__ == "__main__":
    add_chat(Application("chat")).run()
