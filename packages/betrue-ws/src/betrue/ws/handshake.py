"""Which handshakes are accepted: the Origin allow-list (aiohttp alone accepts any Origin), and refusals."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from aiohttp import web

from betrue.server import BetrueError, encode_json, new_trace_id

__all__ = ["OriginPolicy", "UpgradeRequired", "refusal"]

_DEFAULT_PORTS = {"http": "80", "https": "443", "ws": "80", "wss": "443"}


class OriginPolicy:
    """Decides a handshake by its ``Origin`` header.

    Allowed: a handshake without ``Origin`` (not a browser, so no cross-site risk), a page from the same
    origin as the endpoint (its ``Origin`` names the ``Host`` the handshake went to), and any origin
    listed (``https://app.example.com``, ``https://*.example.com`` for subdomains, ``*`` for all).

    Example:
        >>> policy = OriginPolicy(["https://app.example.com"])
        >>> policy.allows("https://app.example.com", host="api.example.com")
        True
        >>> policy.allows("https://evil.example", host="api.example.com")
        False
        >>> policy.allows("http://127.0.0.1:3000", host="127.0.0.1:3000")
        True
    """

    def __init__(self, allowed: Iterable[str] = ()) -> None:
        entries = [entry.strip() for entry in allowed if entry.strip()]
        self.any = "*" in entries
        self.exact = {_normalize(entry) for entry in entries if "*" not in entry}
        self.suffixes = [_wildcard(entry) for entry in entries if entry.startswith(("http://*.", "https://*."))]

    def allows(self, origin: str | None, *, host: str | None) -> bool:
        if origin is None or self.any:
            return True
        normalized = _normalize(origin)
        if normalized in self.exact:
            return True
        scheme, _, netloc = normalized.partition("://")
        if host and netloc and netloc == _strip_default_port(host.lower(), scheme):
            return True  # same origin; the scheme is not compared, as TLS may end at a proxy in front
        return any(normalized.startswith(prefix) and normalized.endswith(suffix) for prefix, suffix in self.suffixes)


def _normalize(origin: str) -> str:
    if origin == "null":
        return origin
    parts = urlsplit(origin.strip().lower())
    if not parts.scheme or not parts.netloc:
        return origin.strip().lower()
    return f"{parts.scheme}://{_strip_default_port(parts.netloc, parts.scheme)}"


def _strip_default_port(netloc: str, scheme: str) -> str:
    default = _DEFAULT_PORTS.get(scheme)
    if default and netloc.endswith(":" + default):
        return netloc[: -len(default) - 1]
    return netloc


def _wildcard(entry: str) -> tuple[str, str]:
    scheme, _, rest = entry.lower().partition("://*")
    return f"{scheme}://", _strip_default_port(rest, scheme)


class UpgradeRequired(BetrueError):
    """A plain HTTP request on the WebSocket endpoint."""

    code = 426
    status = "UpgradeRequired"
    default_message = "Upgrade required"


def refusal(error: BetrueError) -> web.Response:
    """A refused handshake, answered with the error envelope like any HTTP error."""
    trace_id = new_trace_id()
    body = {"code": error.code, "status": error.status, "error": error.to_error(), "traceId": trace_id}
    return web.Response(
        body=encode_json(body),
        status=error.code,
        content_type="application/json",
        headers={"x-trace-id": trace_id},
    )
