"""The ``game`` app: ``game/load`` calls ``chat/*`` through the client, wherever chat runs.

Run alone: ``HTTP_PORT=3001 ROUTES=chat=http://127.0.0.1:3002 python -m examples.gateway.game``;
without ``ROUTES`` the chat commands must be in the same process (see monolith.py).
"""

from __future__ import annotations

from typing import Any

from betrue.server import Application, Context, Group

__all__ = ["app", "game"]

game = Group("game", description="Players and their games")


@game.command(
    "load",
    input={
        "type": "object",
        "properties": {"player": {"type": "string", "minLength": 1, "maxLength": 40}},
        "required": ["player"],
        "additionalProperties": False,
    },
    output={
        "type": "object",
        "properties": {"player": {"type": "string"}, "level": {"type": "integer"}, "lobby": {"type": "array"}},
        "required": ["player", "level", "lobby"],
    },
    description="Load a player's game and announce them in the lobby",
)
async def load(params: dict[str, str], ctx: Context) -> dict[str, Any]:
    player = params["player"]
    # The same two lines whether chat is in this process or behind http://…: ROUTES decides.
    await ctx.client.chat.post({"room": "lobby", "text": f"{player} joined"})
    lobby = await ctx.client.chat.history({"room": "lobby"})
    ctx.logger.info("{} loaded, {} messages in the lobby", player, len(lobby))
    return {"player": player, "level": 1, "lobby": lobby}


def make_app(**options: Any) -> Application:
    """The game app; ``options`` go to ``Application`` (``environ=``, ``env_file=``)."""
    return Application("game", groups=[game], **options)


app = make_app()

if __name__ == "__main__":
    app.run()
