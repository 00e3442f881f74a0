"""What the chat page is told when it is rendered: which servers to connect to, and the upload limit."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from pydantic import Field

from betrue.config import Config, env
from betrue.server import Service
from betrue.server.adapters.http import DEFAULT_CSP
from examples.chat.attachments import MAX_IMAGE

__all__ = ["ChatPage", "ChatPageConfig", "page_policy"]


class ChatPageConfig(Config):
    """Chat page"""

    servers: list[str] = env(
        "CHAT_SERVERS",
        [],
        description="WebSocket URLs the page connects to, the next one when a connection drops "
        "(ws://host:port/ws or a path such as /ws); empty: this server's WS_PATH",
    )
    max_image: int = Field(MAX_IMAGE, description="Largest image upload in bytes (shown as 5 MiB)")


class ChatPage(Service):
    """Holds the page's settings; the page template reads them with ``config("chat_page.servers")``.

    Example:
        >>> ChatPage(ChatPageConfig.from_dict({"servers": ["/ws", "ws://127.0.0.1:8001/ws"]})).config.servers
        ['/ws', 'ws://127.0.0.1:8001/ws']
    """

    name = "chat_page"
    config_class = ChatPageConfig

    def __init__(self, config: ChatPageConfig | None = None, **deps: Any) -> None:
        super().__init__(config or ChatPageConfig.from_dict({}), **deps)


def page_policy(settings: Mapping[str, str]) -> str | None:
    """The page's Content-Security-Policy when ``CHAT_SERVERS`` lists other servers: the default one, with
    their origins allowed in ``connect-src`` (else the browser refuses to connect to the next server).
    ``None`` when there is nothing to add or ``HTTP_CSP`` is set.

    Example:
        >>> "connect-src 'self' ws://127.0.0.1:8001;" in page_policy({"CHAT_SERVERS": "/ws,ws://127.0.0.1:8001/ws"})
        True
        >>> page_policy({"CHAT_SERVERS": "/ws"}) is None
        True
    """
    text = settings.get("CHAT_SERVERS", "").strip()
    if "HTTP_CSP" in settings or not text:
        return None
    try:
        servers = json.loads(text) if text.startswith("[") else text.split(",")
    except ValueError:
        return None
    origins: list[str] = []
    for server in servers:
        parts = urlsplit(str(server).strip())
        if parts.scheme in ("ws", "wss", "http", "https") and parts.netloc:
            origin = f"{parts.scheme}://{parts.netloc}"
            if origin not in origins:
                origins.append(origin)
    if not origins:
        return None
    return DEFAULT_CSP.replace("connect-src 'self'", "connect-src 'self' " + " ".join(origins))
