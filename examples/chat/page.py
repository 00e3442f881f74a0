"""What the chat page is told when it is rendered: which servers to connect to, and the upload limit."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from betrue.config import Config, env
from betrue.server import Service
from examples.chat.attachments import MAX_IMAGE

__all__ = ["ChatPage", "ChatPageConfig"]


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
