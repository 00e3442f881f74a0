"""The gateway: serve other apps' commands as this app's own, listed in code or discovered from upstreams.

Example:
    >>> from betrue.server.gateway import GatewayConfig
    >>> GatewayConfig(upstreams="game=http://127.0.0.1:3001").upstreams
    'game=http://127.0.0.1:3001'
"""

# Names load on first use: importing the package does not import every module behind it.
from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from betrue.server.gateway._gateway import Gateway, proxy
    from betrue.server.gateway._upstreams import GatewayConfig, Upstream

_EXPORTS: dict[str, str] = {
    "Gateway": "betrue.server.gateway._gateway",
    "GatewayConfig": "betrue.server.gateway._upstreams",
    "Upstream": "betrue.server.gateway._upstreams",
    "proxy": "betrue.server.gateway._gateway",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'betrue.server.gateway' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "Gateway",
    "GatewayConfig",
    "Upstream",
    "proxy",
]
