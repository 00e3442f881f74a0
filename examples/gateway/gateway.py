"""The gateway: serves the commands of the game and chat apps as its own, discovered with their schemas.

Run alone (with game on 3001 and chat on 3002):
``GATEWAY_UPSTREAMS=game=http://127.0.0.1:3001,chat=http://127.0.0.1:3002 python -m examples.gateway.gateway``
"""

from __future__ import annotations

from typing import Any

from betrue.server import Application

__all__ = ["app"]


def make_app(**options: Any) -> Application:
    """A gateway whose upstreams come from ``GATEWAY_UPSTREAMS``; ``options`` go to ``Application``."""
    application = Application("gateway", **options)
    application.proxy()  # or, as in @be-true: application.proxy("game", ["load"], transport="http://…")
    return application


app = make_app()

if __name__ == "__main__":
    app.run()
