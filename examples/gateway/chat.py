"""The ``chat`` app: rooms and their messages. Run alone: ``HTTP_PORT=3002 python -m examples.gateway.chat``."""

from __future__ import annotations

from typing import Any

from betrue.server import Application, Context, Group, Service

__all__ = ["Rooms", "app", "chat"]

MESSAGE = {
    "type": "object",
    "properties": {"id": {"type": "integer"}, "room": {"type": "string"}, "text": {"type": "string"}},
    "required": ["id", "room", "text"],
}


class Rooms(Service):
    """Messages by room, in memory: enough for the example."""

    name = "rooms"

    async def start(self) -> Rooms:
        self.messages: dict[str, list[dict[str, Any]]] = {}
        self.count = 0
        return self

    def post(self, room: str, text: str) -> dict[str, Any]:
        self.count += 1
        message = {"id": self.count, "room": room, "text": text}
        self.messages.setdefault(room, []).append(message)
        return message


chat = Group("chat", description="Rooms and their messages")


@chat.command(
    "post",
    input={
        "type": "object",
        "properties": {"room": {"type": "string", "minLength": 1}, "text": {"type": "string", "minLength": 1}},
        "required": ["room", "text"],
        "additionalProperties": False,
    },
    output=MESSAGE,
    description="Post a message to a room",
)
async def post(params: dict[str, str], ctx: Context) -> dict[str, Any]:
    rooms: Rooms = await ctx.service("rooms")
    return rooms.post(params["room"], params["text"])


@chat.command(
    "history",
    input={"type": "object", "properties": {"room": {"type": "string"}}, "required": ["room"]},
    output={"type": "array", "items": MESSAGE},
    description="The messages of a room, oldest first",
    idempotent=True,
)
async def history(params: dict[str, str], ctx: Context) -> list[dict[str, Any]]:
    rooms: Rooms = await ctx.service("rooms")
    return rooms.messages.get(params["room"], [])


def make_app(**options: Any) -> Application:
    """The chat app; ``options`` go to ``Application`` (``environ=``, ``env_file=``)."""
    application = Application("chat", groups=[chat], **options)
    application.add_service(Rooms)
    return application


app = make_app()

if __name__ == "__main__":
    app.run()
