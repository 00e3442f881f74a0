"""The game service, ported: ``game/load`` calls chat through the client, wherever ``ROUTES`` says chat is.

Alone: ``HTTP_PORT=3001 ROUTES=chat=http://127.0.0.1:3002 python examples/be-true-port/game.py``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from betrue.config import Config, env
from betrue.server import Application, CommandClass, Context, Group, Schema, Service

game = Group("game", description="Players and their games")


class GameConfig(Config):
    """Game"""

    start_level: int = env("GAME_START_LEVEL", 1, description="Level of a new player", ge=1)


class Players(Service):
    name = "players"
    config_class = GameConfig
    config: GameConfig

    async def start(self) -> Players:
        self.levels: dict[str, int] = {}
        return self

    def load(self, player: str) -> int:
        return self.levels.setdefault(player, self.config.start_level)


@game.add
class Load(CommandClass):
    """Load a player's game and announce them in the lobby."""

    name = "load"
    input: ClassVar[Schema] = {
        "type": "object",
        "properties": {"player": {"type": "string", "minLength": 1, "maxLength": 40}},
        "required": ["player"],
        "additionalProperties": False,
    }

    async def handle(self, params: dict[str, str], ctx: Context) -> dict[str, Any]:
        player = params["player"]
        level = (await ctx.service("players")).load(player)
        await ctx.client.call("chat/send", {"room": "lobby", "text": f"{player} joined"})
        lobby = await ctx.client.call("chat/list", {"room": "lobby"})
        return {"player": player, "level": level, "lobby": lobby}


class Test(CommandClass):
    """A single-segment code, as the original's ``test``: it is its own group."""

    code = "test"

    async def handle(self, params: Any, ctx: Context) -> dict[str, bool]:
        return {"ok": True}


def add_game(app: Application) -> Application:
    app.include(game)
    app.add_command(Test)
    app.add_service(Players)
    return app


if __name__ == "__main__":
    add_game(Application("game")).run()
