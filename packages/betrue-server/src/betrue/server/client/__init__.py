"""The client side: call any command by code; routes pick a transport per group; resilience on the way.

Example:
    >>> from betrue.server.client import ClientConfig
    >>> ClientConfig(routes="chat=http://127.0.0.1:8001").routes
    'chat=http://127.0.0.1:8001'
"""

# Names load on first use: importing the package does not import every module behind it.
from importlib import import_module
from typing import TYPE_CHECKING, Any

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


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'betrue.server.client' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


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
