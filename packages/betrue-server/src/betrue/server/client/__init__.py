"""The client side: call any command by code; routes pick a transport per group; resilience on the way.

Example:
    >>> from betrue.server.client import ClientConfig
    >>> ClientConfig(routes="chat=http://127.0.0.1:8001").routes
    'chat=http://127.0.0.1:8001'
"""

# Names load on first use: importing the package does not import every module behind it.
from typing import TYPE_CHECKING

from betrue.server._lazy import lazy_exports

if TYPE_CHECKING:
    from betrue.server.client._calls import Call, ClientMiddleware, Envelope, Send
    from betrue.server.client._client import BoundClient, Client, MetaHook
    from betrue.server.client._config import ClientConfig
    from betrue.server.client._resilience import Policy

_EXPORTS: dict[str, str] = {
    "BoundClient": "betrue.server.client._client",
    "Call": "betrue.server.client._calls",
    "Client": "betrue.server.client._client",
    "ClientConfig": "betrue.server.client._config",
    "ClientMiddleware": "betrue.server.client._calls",
    "Envelope": "betrue.server.client._calls",
    "MetaHook": "betrue.server.client._client",
    "Policy": "betrue.server.client._resilience",
    "Send": "betrue.server.client._calls",
}


__all__ = [
    "BoundClient",
    "Call",
    "Client",
    "ClientConfig",
    "ClientMiddleware",
    "Envelope",
    "MetaHook",
    "Policy",
    "Send",
]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, __all__)
