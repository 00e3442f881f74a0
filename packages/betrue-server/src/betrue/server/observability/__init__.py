"""Observability: logs (loguru), traces and metrics (OpenTelemetry), and redaction of what they carry.

Example:
    >>> from betrue.server.observability import redact
    >>> redact({"password": "hunter2", "name": "ann"})
    {'password': '***', 'name': 'ann'}
"""

# Names load on first use: importing the package does not import every module behind it.
from typing import TYPE_CHECKING

from betrue.server._lazy import lazy_exports

if TYPE_CHECKING:
    from betrue.server.observability._logging import setup_logging
    from betrue.server.observability._redact import redact
    from betrue.server.observability._telemetry import Telemetry, TelemetryConfig

_EXPORTS: dict[str, str] = {
    "Telemetry": "betrue.server.observability._telemetry",
    "TelemetryConfig": "betrue.server.observability._telemetry",
    "redact": "betrue.server.observability._redact",
    "setup_logging": "betrue.server.observability._logging",
}


__all__ = [
    "Telemetry",
    "TelemetryConfig",
    "redact",
    "setup_logging",
]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, __all__)
