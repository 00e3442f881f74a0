"""The same command code as one process: game and chat together, every client call local.

Run: ``python -m examples.gateway.monolith`` (http://127.0.0.1:3000). Nothing changed but where the
groups are included: ``ctx.client.chat.post(...)`` in game/load now runs in-process, through the same
validation, with params and results making the same JSON round trip as over HTTP.
"""

from __future__ import annotations

from typing import Any

from betrue.server import Application
from examples.gateway.chat import Rooms, chat
from examples.gateway.game import game

__all__ = ["app"]


def make_app(**options: Any) -> Application:
    application = Application("monolith", groups=[game, chat], **options)
    application.add_service(Rooms)
    return application


app = make_app()

if __name__ == "__main__":
    app.run()
