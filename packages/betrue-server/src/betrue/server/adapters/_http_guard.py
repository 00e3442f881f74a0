"""What every HTTP request passes before any route: the Host allow-list and single-valued headers; and
what every answer carries: no server banner, ``nosniff``, and on pages a Content-Security-Policy.

DNS rebinding: a page on ``http://evil.example:3000`` whose name is made to resolve to 127.0.0.1 talks
to a local server as a same-origin page (its ``Origin`` equals the ``Host`` it sends). Only a Host
allow-list stops it: by default a request is served only when its ``Host`` is an IP address, a name
without a dot (``localhost``, an intranet host; public DNS cannot hand those out) or a name under
``.localhost``; any other name must be listed in ``HTTP_ALLOWED_HOSTS``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable, Iterable

from aiohttp import web

from betrue.server.adapters._http_server import SERVER_NAME, envelope_response
from betrue.server.context import trace_id_from
from betrue.server.errors import BetrueError, ValidationError

__all__ = ["DEFAULT_CSP", "HostPolicy", "guarded", "request_problem", "secure_headers"]

DEFAULT_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
"""The policy of HTML pages unless ``HTTP_CSP`` says otherwise: scripts and styles from the page's own
origin (inline styles allowed, inline scripts not), no framing by other sites."""

_SEEN_HOSTS = 256
"""Host values whose verdict is remembered."""

SINGLE_HEADERS = ("Authorization", "Host", "Content-Type", "Content-Encoding", "Origin", "x-timeout-ms")
"""Headers that mean one thing: sent twice, they are refused (400) rather than one silently chosen."""


class HostPolicy:
    """Which ``Host`` headers are served: IP literals and dotless names always, other names when listed.

    Entries: ``app.example.com``, ``.example.com`` or ``*.example.com`` (the name and its subdomains), or
    ``*`` (any Host: only behind a proxy that checks it).

    Example:
        >>> policy = HostPolicy(["app.example.com"])
        >>> policy.allows("app.example.com:8443"), policy.allows("127.0.0.1:3000"), policy.allows("evil.example")
        (True, True, False)
    """

    def __init__(self, allowed: Iterable[str] = ()) -> None:
        entries = [entry.strip().lower() for entry in allowed if entry.strip()]
        self.any = "*" in entries
        self.exact = {entry for entry in entries if not entry.startswith((".", "*."))}
        self.suffixes = tuple("." + entry.lstrip("*").lstrip(".") for entry in entries if entry.startswith((".", "*.")))
        self._seen: dict[str, bool] = {}

    def allows(self, host: str | None) -> bool:
        if self.any:
            return True
        if not host:
            return False
        known = self._seen.get(host)
        if known is not None:  # a server answers to a handful of Host values: parse each once
            return known
        allowed = self._allows(host)
        if len(self._seen) < _SEEN_HOSTS:  # bounded: an attacker's random names are judged, not remembered
            self._seen[host] = allowed
        return allowed

    def _allows(self, host: str) -> bool:
        name = _hostname(host.strip().lower())
        if name is None:
            return False
        if "." not in name or name.endswith(".localhost") or _is_ip(name):
            return True  # a name without a dot (localhost, an intranet host) cannot come from public DNS
        return name in self.exact or any(name.endswith(suffix) or "." + name == suffix for suffix in self.suffixes)


def _hostname(host: str) -> str | None:
    if host.startswith("["):
        end = host.find("]")
        return host[1:end] if end > 0 else None
    name, _, port = host.rpartition(":") if host.count(":") == 1 else (host, "", "")
    if port and not port.isdigit():
        return None
    return name.rstrip(".") or None


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def request_problem(request: web.BaseRequest, hosts: HostPolicy) -> BetrueError | None:
    """Why ``request`` may not be served (a header sent twice, a Host not allowed), or None."""
    for name in SINGLE_HEADERS:
        if len(request.headers.getall(name, ())) > 1:
            return ValidationError(
                f"The {name} header was sent more than once", details={"reason": "duplicate_header", "header": name}
            )
    if not hosts.allows(request.headers.get("Host")):
        return ValidationError(
            "This server does not answer to that Host name (HTTP_ALLOWED_HOSTS lists the names it serves)",
            details={"reason": "host_not_allowed"},
        )
    return None


def guarded(
    handler: Callable[[web.BaseRequest], Awaitable[web.StreamResponse]], hosts: HostPolicy
) -> Callable[[web.BaseRequest], Awaitable[web.StreamResponse]]:
    """``handler`` (the server's request handler) behind the checks of ``request_problem`` (400, then close).

    It wraps the whole application's handler rather than being an aiohttp middleware: with no middleware,
    aiohttp takes its fast path for every request (the middleware machinery cost static files a tenth of
    their throughput).
    """

    async def guard(request: web.BaseRequest) -> web.StreamResponse:
        problem = request_problem(request, hosts)
        if problem is not None:
            meta = {name.lower(): value for name, value in request.headers.items()}
            response = envelope_response(problem, trace_id_from(meta))
            response.force_close()
            return response
        return await handler(request)

    return guard


def secure_headers(csp: str) -> Callable[[web.Request, web.StreamResponse], Awaitable[None]]:
    """An ``on_response_prepare`` hook: ``Server: betrue``, ``nosniff``, and on pages CSP and no framing."""

    async def prepare(_: web.Request, response: web.StreamResponse) -> None:
        headers = response.headers
        headers["Server"] = SERVER_NAME
        headers.setdefault("X-Content-Type-Options", "nosniff")
        if (response.content_type or "").startswith("text/html"):
            if csp:
                headers.setdefault("Content-Security-Policy", csp)
            headers.setdefault("X-Frame-Options", "DENY")
            headers.setdefault("Referrer-Policy", "same-origin")

    return prepare
