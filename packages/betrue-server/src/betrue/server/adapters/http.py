"""The HTTP adapter (service ``http``): ``POST /api/<code>`` on aiohttp, and the server other services add routes to."""

from __future__ import annotations

import resource
from typing import TYPE_CHECKING, Any

from aiohttp import web
from loguru import logger

from betrue.config import Config, env
from betrue.server.adapters._exhaustion import install_loop_exception_handler
from betrue.server.adapters._http_call import make_call_handler
from betrue.server.adapters._http_guard import DEFAULT_CSP, HostPolicy, guarded, secure_headers
from betrue.server.adapters._http_server import ListeningSite, envelope_response
from betrue.server.adapters.base import Adapter
from betrue.server.adapters.probes import add_probe_routes
from betrue.server.context import trace_id_from
from betrue.server.errors import MethodNotAllowed

if TYPE_CHECKING:
    from aiohttp.typedefs import Handler

    from betrue.server.application import Application

__all__ = ["DEFAULT_CSP", "HttpAdapter", "HttpConfig"]


class HttpConfig(Config):
    """HTTP server"""

    host: str = env("HTTP_HOST", "127.0.0.1", description="Interface to listen on (0.0.0.0: every IPv4 interface)")
    port: int = env("HTTP_PORT", 3000, description="Port to listen on; 0 picks a free one", ge=0, le=65535)
    api_prefix: str = env(
        "HTTP_API_PREFIX",
        "/api",
        description="Path prefix of command calls: POST <prefix>/<code>",
        pattern=r"^(/[A-Za-z0-9._~\-]+)*$",
    )
    body_limit: int = env(
        "HTTP_BODY_LIMIT", 1_048_576, description="Largest request body in bytes, chunked or not (413 past it)", ge=1
    )
    header_timeout: float = env(
        "HTTP_HEADER_TIMEOUT",
        10.0,
        description="Seconds from a request's first byte to the end of its headers (then 408 and close)",
        ge=0.001,
    )
    body_timeout: float = env(
        "HTTP_BODY_TIMEOUT", 30.0, description="Seconds to receive a whole request body (then 408 and close)", ge=0.001
    )
    keepalive_timeout: float = env(
        "HTTP_KEEPALIVE_TIMEOUT", 75.0, description="Seconds an idle keep-alive connection stays open", ge=0
    )
    idle_timeout: float = env(
        "HTTP_IDLE_TIMEOUT",
        10.0,
        description="Seconds a new connection may stay silent before its first byte (then it is closed)",
        ge=0.001,
    )
    max_connections: int = env(
        "HTTP_MAX_CONNECTIONS",
        0,
        description="Open connections at most (WebSocket ones included); at the cap the longest idle one is "
        "closed, or the new one answered 503 with Retry-After. 0: three quarters of the process's file limit",
        ge=0,
    )
    allowed_hosts: list[str] = env(
        "HTTP_ALLOWED_HOSTS",
        [],
        description="Host names served besides IP addresses and localhost: app.example.com, .example.com "
        "(with subdomains), or * (any: only behind a proxy that checks Host). Others are answered 400",
    )
    csp: str = env(
        "HTTP_CSP",
        DEFAULT_CSP,
        description="Content-Security-Policy of HTML pages (empty: none)",
    )

    def connection_cap(self) -> int:
        """``max_connections``, or three quarters of the open-file limit (``RLIMIT_NOFILE``) when it is 0."""
        if self.max_connections:
            return self.max_connections
        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft == resource.RLIM_INFINITY or soft <= 0:
            return 10_000
        return max(16, soft * 3 // 4)


class HttpAdapter(Adapter):
    """Serves every command at ``POST <HTTP_API_PREFIX>/<code>`` and hosts other services' routes.

    After ``start()`` the aiohttp application is ``http.web``: a service that declares ``deps=("http",)``
    adds its routes in its own ``start()``, before the server listens. After ``serve()``, ``http.url``
    is the real address (``HTTP_PORT=0`` picks a free port).

    Example:
        >>> from betrue.server import Service
        >>> class Pages(Service):
        ...     name, deps = "pages", ("http",)
        ...     async def start(self):
        ...         self.services["http"].add_route("GET", "/", self.index)
        ...     async def index(self, request):
        ...         return web.Response(text="hello")
    """

    name = "http"
    config_class = HttpConfig
    config: HttpConfig

    def __init__(self, config: HttpConfig | None = None, **deps: Any) -> None:
        super().__init__(config if config is not None else HttpConfig.from_dict({}), **deps)
        self.web: web.Application = web.Application()
        self.runner: web.AppRunner | None = None
        self.site: ListeningSite | None = None

    @property
    def port(self) -> int:
        """The port listened on (the real one once serving, even with ``HTTP_PORT=0``)."""
        return self.site.port if self.site is not None else self.config.port

    @property
    def url(self) -> str:
        """``http://host:port`` of the running server."""
        host = self.config.host
        return f"http://{f'[{host}]' if ':' in host else host}:{self.port}"

    async def start(self) -> HttpAdapter:
        self.web = web.Application(client_max_size=self.config.body_limit)
        self.web.on_response_prepare.append(secure_headers(self.config.csp))
        return self

    def add_route(self, method: str, path: str, handler: Handler, *, name: str | None = None) -> None:
        """Serve ``handler`` (an aiohttp handler) at ``method path``; after ``start``, before ``serve``.

        ``GET`` answers ``HEAD`` too, as aiohttp's ``add_get`` does.
        """
        if method.upper() == "GET":
            self.web.router.add_get(path, handler, name=name)
        else:
            self.web.router.add_route(method, path, handler, name=name)

    async def serve(self, app: Application) -> None:
        """Add the command route, then listen on ``HTTP_HOST:HTTP_PORT``."""
        config = self.config
        path = f"{config.api_prefix}/{{code:.+}}"
        handler, expect = make_call_handler(
            app, limit=config.body_limit, timeout=config.body_timeout, hosts=HostPolicy(config.allowed_hosts)
        )
        self.web.router.add_post(path, handler, name="betrue-call", expect_handler=expect)
        self.web.router.add_route("*", path, _method_not_allowed)
        add_probe_routes(self.web, app)
        install_loop_exception_handler()
        # Application.stop has given the calls SHUTDOWN_TIMEOUT already and answered the overdue ones.
        self.runner = web.AppRunner(self.web, access_log=None, shutdown_timeout=1.0)
        await self.runner.setup()
        server = self.runner.server
        assert server is not None
        # Host allow-list and single-valued headers before any route (see _http_guard.guarded)
        server.request_handler = guarded(server.request_handler, HostPolicy(config.allowed_hosts))
        self.site = ListeningSite(
            self.runner,
            config.host,
            config.port,
            header_timeout=config.header_timeout,
            idle_timeout=config.idle_timeout,
            max_connections=config.connection_cap(),
            keepalive_timeout=config.keepalive_timeout,
            access_log=None,
        )
        try:
            await self.site.start()
        except OSError:
            await self.close()
            raise
        logger.info("HTTP listening on {} (commands at POST {}/<code>)", self.url, config.api_prefix, url=self.url)

    async def close_listeners(self) -> None:
        """Stop accepting connections; idle keep-alive connections close, busy ones after their response."""
        if self.site is not None and self.runner is not None and self.site in self.runner.sites:
            await self.site.stop()  # no new connections, then the open ones drain
            await self.site.drain()

    async def close(self) -> None:
        """Close the connections that are left and the aiohttp application."""
        runner, self.runner = self.runner, None
        if runner is not None:
            await runner.cleanup()

    async def stop(self) -> None:
        await self.close()


async def _method_not_allowed(request: web.Request) -> web.StreamResponse:
    meta = {name.lower(): value for name, value in request.headers.items()}
    response = envelope_response(MethodNotAllowed("Commands are called with POST"), trace_id_from(meta))
    response.headers["Allow"] = "POST"
    return response
