"""The chat's commands (``chat/rooms``, ``chat/join``, ``chat/leave``, ``chat/send``, ``chat/history``; the
``user/*`` ones live in accounts.py) and its events (``chat.message``, ``chat.presence``, ``chat.room``)."""

from __future__ import annotations

from typing import Any

from betrue.server import (
    Conflict,
    Context,
    Forbidden,
    Group,
    NotFound,
    TooManyRequests,
    Unauthorized,
    ValidationError,
    declare_event,
)
from examples.chat.presence import Presence
from examples.chat.quotas import Quotas
from examples.chat.store import ChatStore

__all__ = ["CONNECTION_HEADER", "GATEWAY_HEADER", "caller_connection", "chat", "user"]

user = Group("user", description="Accounts: register and log in (every other command needs the token)")
chat = Group("chat", description="Rooms, messages and who is online")

ROOM = {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]{0,31}$", "description": "Room name: a-z, 0-9 and -"}
NAME = {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9 ._-]{0,31}$", "description": "Display name"}
MESSAGE = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "room": {"type": "string"},
        "user": {"type": "string"},
        "text": {"type": "string"},
        "at": {"type": "string", "format": "date-time"},
        "attachment": {"type": "object", "description": "An image sent with the message (chat/attachment)"},
    },
    "required": ["id", "room", "user", "text", "at"],
}
USERS = {"type": "array", "items": {"type": "string"}}
PRESENCE = {
    "type": "object",
    "properties": {
        "room": {"type": "string"},
        "user": {"type": "string", "description": "Who came or went"},
        "online": {"type": "boolean", "description": "True when they came"},
        "users": USERS,
    },
    "required": ["room", "user", "online", "users"],
}

declare_event(chat, "chat.message", schema=MESSAGE, description="A message posted to a room", to=["room"])
declare_event(chat, "chat.presence", schema=PRESENCE, description="Someone entered or left a room", to=["room"])
declare_event(
    chat,
    "chat.room",
    schema={"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]},
    description="A room was created",
)


def _object(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": required, "additionalProperties": False}


def current_user(ctx: Context) -> str:
    """The caller's name: the identity its connection logged in with."""
    if ctx.identity is None:
        raise Unauthorized("Log in first (user/login)")
    return ctx.identity.subject


CONNECTION_HEADER = "x-chat-connection"
"""Meta of a call a gateway forwards over NATS: the id of the WebSocket connection it came on."""
GATEWAY_HEADER = "x-chat-gateway"
"""Meta of a call a gateway forwards over NATS: the gateway's id (its heartbeat row in chat_gateways)."""


def caller_connection(ctx: Context) -> tuple[str, str] | None:
    """The caller's WebSocket connection as (id, gateway id): here (monolith) or on the gateway that forwarded.

    Only calls that came over NATS (from a gateway of the cluster) are believed about a remote connection;
    an HTTP caller cannot claim one with a header.
    """
    if ctx.connection is not None:
        return ctx.connection.id, ""
    if ctx.adapter == "nats" and ctx.meta.get(CONNECTION_HEADER):
        return ctx.meta[CONNECTION_HEADER], ctx.meta.get(GATEWAY_HEADER, "")
    return None


def _connection(ctx: Context) -> tuple[str, str]:
    found = caller_connection(ctx)
    if found is None:
        raise ValidationError("Rooms are joined over a WebSocket connection (/ws)")
    return found


@chat.command(
    "rooms",
    input=_object({}, []),
    output=_object(
        {"rooms": {"type": "array", "items": _object({"name": {"type": "string"}, "online": {"type": "integer"}}, [])}},
        ["rooms"],
    ),
)
async def rooms(params: dict[str, Any], ctx: Context) -> dict[str, Any]:
    """Every room with how many people are in it."""
    store: ChatStore = await ctx.service("chat_store")
    counts = await (await ctx.service("presence")).counts()
    return {"rooms": [{"name": name, "online": counts.get(name, 0)} for name in await store.rooms()]}


@chat.command(
    "join",
    input=_object({"room": ROOM}, ["room"]),
    output=_object({"room": {"type": "string"}, "users": USERS}, ["room", "users"]),
    errors=[Unauthorized, ValidationError, Conflict, TooManyRequests],
    transports=["ws", "nats"],  # the cluster gateway forwards them over NATS with the connection id
)
async def join(params: dict[str, Any], ctx: Context) -> dict[str, Any]:
    """Enter a room (created when new, within your quota): its messages and presence changes are pushed to you."""
    name, room = current_user(ctx), params["room"]
    connection, gateway = _connection(ctx)
    store: ChatStore = await ctx.service("chat_store")
    presence: Presence = await ctx.service("presence")
    known = await store.rooms()
    if room not in known:
        quotas: Quotas = await ctx.service("quotas")
        quotas.new_room(name, len(known))
    if await store.add_room(room):
        await ctx.emit("chat.room", {"name": room})
    await store.add_member(room, name)
    if ctx.connection is not None:  # in the cluster the gateway joins its connection when this answers
        ctx.connection.join(room)
    if await presence.join(room, name, connection, gateway):
        await ctx.emit("chat.presence", await _presence(presence, room, name, online=True), to={"room": room})
    return {"room": room, "users": await presence.users(room)}


@chat.command(
    "leave",
    input=_object({"room": ROOM}, ["room"]),
    output=_object({"room": {"type": "string"}}, ["room"]),
    errors=[ValidationError],
    transports=["ws", "nats"],  # the cluster gateway forwards them over NATS with the connection id
)
async def leave(params: dict[str, Any], ctx: Context) -> dict[str, Any]:
    """Leave a room: no more of its pushes."""
    room = params["room"]
    connection, _ = _connection(ctx)
    presence: Presence = await ctx.service("presence")
    if ctx.connection is not None:  # in the cluster the gateway leaves it when this answers
        ctx.connection.leave(room)
    gone = await presence.leave(room, connection)
    if gone is not None:
        await ctx.emit("chat.presence", await _presence(presence, room, gone, online=False), to={"room": room})
    return {"room": room}


SEND = {
    **_object(
        {
            "room": ROOM,
            "text": {"type": "string", "maxLength": 2000},
            "attachment": {"type": "string", "pattern": "^[0-9a-f]{32}$", "description": "An id from chat/upload"},
            "key": {
                "type": "string",
                "pattern": "^[A-Za-z0-9_-]{8,64}$",
                "description": "Idempotency key: sending again with the same key (after a lost answer) stores "
                "nothing new and answers the message stored the first time",
            },
        },
        ["room"],
    ),
    "anyOf": [
        {"required": ["text"], "properties": {"text": {"pattern": "\\S"}}},
        {"required": ["attachment"]},
    ],
    "description": "Text that is not only blanks, an attachment, or both",
}


@chat.command(
    "send",
    input=SEND,
    output=MESSAGE,
    errors=[Unauthorized, Forbidden, NotFound, TooManyRequests],
)
async def send(params: dict[str, Any], ctx: Context) -> dict[str, Any]:
    """Post a message (text, an image uploaded with chat/upload, or both) to a room you joined.

    Over HTTP one of your WebSocket connections must be in the room (rooms are created by joining them).
    """
    name, room = current_user(ctx), params["room"]
    # The join rule on every transport: over WebSocket this connection joined the room; over HTTP
    # (no connection) one of the user's connections is in it. Nobody creates a room by writing to it.
    presence: Presence = await ctx.service("presence")
    connection = caller_connection(ctx)
    joined = await (presence.has(room, connection[0]) if connection else presence.present(room, name))
    if not joined:
        raise Forbidden(f"Join {room} before writing to it", details={"room": room, "reason": "not_joined"})
    text = params.get("text", "").strip()
    attachment = None
    if "attachment" in params:  # uploaded over HTTP, referred to by id here (see attachments.py)
        attachment = await (await ctx.service("attachments")).owned(params["attachment"], name)
    if not text and attachment is None:
        raise ValidationError("Empty message", details={"field": "text"})
    quotas: Quotas = await ctx.service("quotas")
    quotas.message(name)
    store: ChatStore = await ctx.service("chat_store")
    message = await store.add_message(room, name, text, attachment=attachment, key=params.get("key"))
    # pushed again on a repeated key too: the first try may have died before its push (pages dedupe by id)
    await ctx.emit("chat.message", message, to={"room": room})
    return message


@chat.command(
    "history",
    input=_object(
        {
            "room": ROOM,
            "limit": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50},
            "before": {
                "type": "integer",
                "minimum": 1,
                "maximum": 2**53 - 1,
                "description": "Only messages older than this id",
            },
        },
        ["room"],
    ),
    output=_object({"room": {"type": "string"}, "messages": {"type": "array", "items": MESSAGE}}, ["room", "messages"]),
)
async def history(params: dict[str, Any], ctx: Context) -> dict[str, Any]:
    """The last messages of a room, oldest first."""
    store: ChatStore = await ctx.service("chat_store")
    # JSON Schema counts 5.0 and 1e1 as integers: make them ints before they index anything.
    before = params.get("before")
    limit = int(params.get("limit", 50))
    messages = await store.history(params["room"], limit=limit, before=int(before) if before is not None else None)
    return {"room": params["room"], "messages": messages}


@chat.on("_ws.disconnected")
async def gone(data: dict[str, Any], ctx: Context) -> None:
    """A closed tab leaves its rooms: tell who is still there."""
    presence: Presence = await ctx.service("presence")
    for room, name in await presence.drop(data["connection"]):
        await ctx.emit("chat.presence", await _presence(presence, room, name, online=False), to={"room": room})


async def _presence(presence: Presence, room: str, name: str, *, online: bool) -> dict[str, Any]:
    return {"room": room, "user": name, "online": online, "users": await presence.users(room)}
