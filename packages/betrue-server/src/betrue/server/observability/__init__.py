"""Observability: logs (loguru), traces and metrics (OpenTelemetry), and redaction of what they carry.

Example:
    >>> from betrue.server.observability import redact
    >>> redact({"password": "hunter2", "name": "ann"})
    {'password': '***', 'name': 'ann'}
"""

# Names load on first use: importing the package does not import every module behind it.
from importlib import import_module
from typing import TYPE_CHECKING, Any

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


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'betrue.server.observability' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "Telemetry",
    "TelemetryConfig",
    "redact",
    "setup_logging",
]
