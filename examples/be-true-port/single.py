"""The same game and chat code as one process: no ROUTES, every client call is local.

``python examples/be-true-port/single.py`` (port 3000).
"""

from __future__ import annotations

from typing import Any

from chat import add_chat
from game import add_game

from betrue.server import Application


def make_single(**options: Any) -> Application:
    return add_chat(add_game(Application("single", **options)))


if __name__ == "__main__":
    make_single().run()
