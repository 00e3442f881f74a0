"""The gate, ported: one HTTP entry point serving game's and chat's commands, as the original's ``proxy``.

``GAME_URL`` and ``CHAT_URL`` say where the two services listen (read when the gate is defined).
"""

from __future__ import annotations

import os

from betrue.server import Application


def make_gate(game_url: str, chat_url: str) -> Application:
    gate = Application("gate")
    # As in @be-true: proxy("game", ["load"], ...). The original published it as plain `load`; so does this.
    gate.proxy("game", ["load"], transport=game_url, rename={"game/load": "load"})
    gate.proxy("chat", transport=chat_url)  # every chat/* command, found in chat's _app/commands
    return gate


if __name__ == "__main__":
    make_gate(
        os.environ.get("GAME_URL", "http://127.0.0.1:3001"), os.environ.get("CHAT_URL", "http://127.0.0.1:3002")
    ).run()
