"""The chat as one process: ``betrue run examples.chat.app:app`` (what ``make run`` does).

Page at ``/``, commands at ``POST /api/<code>``, WebSocket at ``/ws``, API docs at ``/docs/``.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from betrue.postgres import Database
from betrue.server import Adapter, Application, JwtAuthenticator, use_auth
from betrue.static import DocsService, StaticService
from betrue.ws import CLIENT_DIR, WsAdapter
from examples.chat.accounts import Accounts
from examples.chat.attachments import Attachments
from examples.chat.commands import chat, user
from examples.chat.page import ChatPage, page_policy
from examples.chat.postgres import MIGRATIONS, PostgresAccounts, PostgresAttachments, PostgresChatStore
from examples.chat.presence import Presence
from examples.chat.quotas import Quotas
from examples.chat.store import MemoryChatStore

__all__ = ["app", "create_app"]

STATIC_ROOT = Path(__file__).with_name("static")


class Banner(Adapter):
    """Prints where the chat is once the server listens (adapters serve in the order they were added)."""

    name = "banner"
    deps = ("http",)

    async def serve(self, app: Application) -> None:
        print(f"chat: open {self.services['http'].url}/ in a browser", flush=True)


def create_app(
    environ: Mapping[str, str] | None = None,
    env_file: str | None = ".env",
    *,
    store: Literal["postgres", "memory"] = "postgres",
) -> Application:
    """Build the chat application; tests pass ``environ={"HTTP_PORT": "0", "DATABASE_URL": ...}``.

    Accounts, rooms, memberships, messages and images are kept in PostgreSQL (``DATABASE_URL``; without it
    an embedded server keeps its data in ``.betrue/postgres``), the tables made by the migrations in
    examples/chat/migrations at start. ``store="memory"`` keeps them in memory instead (unit tests).

    Without ``JWT_SECRET`` a random one is made at start: fine for one process, but logins do not
    survive a restart and two instances do not accept each other's tokens.
    """
    settings = dict(os.environ if environ is None else environ)
    settings.setdefault("JWT_SECRET", secrets.token_urlsafe(32))
    if (policy := page_policy(settings)) is not None:  # the page may connect to the other CHAT_SERVERS
        settings["HTTP_CSP"] = policy
    application = Application("chat", groups=[user, chat], environ=settings, env_file=env_file)
    use_auth(application, JwtAuthenticator)  # every command but user/login and user/register needs a token
    if store == "postgres":
        application.add_service(
            Database, config={"migrations": str(MIGRATIONS), "namespace": "chat", "migrate": "auto"}
        )
        application.add_service(PostgresAccounts)
        application.add_service(PostgresAttachments)
        application.add_service(PostgresChatStore)
        application.add_service(Quotas)
    else:
        application.add_service(Accounts)
        application.add_service(Attachments)
        application.add_service(Quotas)
        application.add_service(MemoryChatStore, name="chat_store")
    application.add_service(Presence)
    application.add_service(WsAdapter)
    application.add_service(ChatPage)
    application.add_service(
        StaticService,
        # the page reads WS_PATH, CHAT_SERVERS and the upload limit through config()
        deps={"http": "http", "app": "app", "ws": "ws", "chat_page": "chat_page"},
        config={"root": str(STATIC_ROOT)},
    )
    application.add_service(
        StaticService,
        name="ws_client",
        context="WS_CLIENT",
        config={"root": str(CLIENT_DIR), "prefix": "/betrue-ws/", "log_files": False},
    )
    application.add_service(DocsService)  # /docs/: Swagger UI, openapi.json, asyncapi.json
    application.add_service(Banner)
    return application


app = create_app()
