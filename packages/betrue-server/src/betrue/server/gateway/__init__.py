"""The gateway: serve other apps' commands as this app's own, listed in code or discovered from upstreams.

Example:
    >>> from betrue.server.gateway import GatewayConfig
    >>> GatewayConfig(upstreams="game=http://127.0.0.1:3001").upstreams
    'game=http://127.0.0.1:3001'
"""

# Names load on first use: importing the package does not import every module behind it.
from typing import TYPE_CHECKING

from betrue.server._lazy import lazy_exports

if TYPE_CHECKING:
    from betrue.server.gateway._gateway import Gateway, proxy
    from betrue.server.gateway._upstreams import GatewayConfig, Upstream

_EXPORTS: dict[str, str] = {
    "Gateway": "betrue.server.gateway._gateway",
    "GatewayConfig": "betrue.server.gateway._upstreams",
    "Upstream": "betrue.server.gateway._upstreams",
    "proxy": "betrue.server.gateway._gateway",
}


__all__ = [
    "Gateway",
    "GatewayConfig",
    "Upstream",
    "proxy",
]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, __all__)
