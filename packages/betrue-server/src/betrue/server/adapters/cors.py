"""CORS for the HTTP server (service ``cors``): an allow-list of origins, methods and headers; off by default.

Why off: a command's body must be JSON (anything else is 415), and a browser sends a cross-origin JSON
``POST`` only after a preflight ``OPTIONS`` that this server answers only for listed origins. So without
CORS another site's page can neither call a command nor read an answer, which is what stops cross-site
request forgery here. Listing an origin lets that origin's pages call every command with the user's
browser; ``CORS_CREDENTIALS=true`` lets them send cookies too, so list only origins you trust as your own.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from pydantic import model_validator

from betrue.config import Config, env
from betrue.server.adapters._http_server import envelope_response
from betrue.server.context import trace_id_from
from betrue.server.di import Service
from betrue.server.errors import Forbidden

__all__ = ["Cors", "CorsConfig"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class CorsConfig(Config):
    """CORS (cross-origin calls from browsers)"""

    origins: list[str] = env(
        "CORS_ORIGINS",
        [],
        description="Origins whose pages may call this server (https://app.example.com); empty: CORS is off; *: any",
    )
    methods: list[str] = env("CORS_METHODS", ["GET", "POST"], description="Methods a cross-origin call may use")
    headers: list[str] = env(
        "CORS_HEADERS",
        ["Content-Type", "Authorization", "traceparent", "X-Trace-Id", "Idempotency-Key"],
        description="Request headers a cross-origin call may send",
    )
    expose_headers: list[str] = env(
        "CORS_EXPOSE_HEADERS", ["X-Trace-Id", "traceparent"], description="Response headers the page may read"
    )
    credentials: bool = env(
        "CORS_CREDENTIALS", False, description="Let listed origins send cookies and HTTP auth (never with *)"
    )
    max_age: int = env("CORS_MAX_AGE", 600, description="Seconds a browser may cache a preflight answer", ge=0)

    @model_validator(mode="after")
    def _no_wildcard_with_credentials(self) -> CorsConfig:
        if self.credentials and "*" in self.origins:
            raise ValueError("CORS_CREDENTIALS=true needs explicit origins, not * (browsers refuse it, and rightly)")
        return self


class Cors(Service):
    """Answers preflights and adds the CORS headers to every response of the ``http`` service.

    Added by every Application with HTTP; it does nothing until ``CORS_ORIGINS`` lists an origin.

    Example:
        >>> # CORS_ORIGINS=https://shop.example.com betrue run shop.app:app
        >>> CorsConfig.from_dict({"origins": ["https://shop.example.com"]}).methods
        ['GET', 'POST']
    """

    name = "cors"
    deps = ("http",)
    config_class = CorsConfig
    config: CorsConfig

    def __init__(self, config: CorsConfig, http: Any) -> None:
        super().__init__(config, http=http)
        self.origins = frozenset(config.origins)
        self.methods = frozenset(method.upper() for method in config.methods)
        self.headers = frozenset(header.lower() for header in config.headers)

    async def start(self) -> Cors:
        if self.origins:
            web_app: web.Application = self.services["http"].web
            web_app.middlewares.append(self._preflight)
            web_app.on_response_prepare.append(self._add_headers)
        return self

    def allowed(self, origin: str) -> bool:
        """Whether pages of ``origin`` may call this server."""
        return origin in self.origins or "*" in self.origins

    def _allow_origin(self, origin: str) -> str:
        # With credentials the origin is echoed (never *); without, * stays * so caches can share the answer.
        return "*" if "*" in self.origins and not self.config.credentials else origin

    @web.middleware
    async def _preflight(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        origin = request.headers.get("Origin")
        wanted = request.headers.get("Access-Control-Request-Method")
        if request.method != "OPTIONS" or origin is None or wanted is None:
            return await handler(request)
        asked = {h.strip().lower() for h in request.headers.get("Access-Control-Request-Headers", "").split(",")}
        refused = sorted(asked - self.headers - {""})
        if not self.allowed(origin) or wanted.upper() not in self.methods or refused:
            reason = (
                f"origin {origin} is not allowed"
                if not self.allowed(origin)
                else f"method {wanted} is not allowed"
                if wanted.upper() not in self.methods
                else f"headers {', '.join(refused)} are not allowed"
            )
            meta = {name.lower(): value for name, value in request.headers.items()}
            return envelope_response(Forbidden(f"CORS preflight refused: {reason}"), trace_id_from(meta))
        response = web.Response(status=204)
        response.headers["Access-Control-Allow-Methods"] = ", ".join(sorted(self.methods))
        response.headers["Access-Control-Allow-Headers"] = ", ".join(self.config.headers)
        response.headers["Access-Control-Max-Age"] = str(self.config.max_age)
        return response

    async def _add_headers(self, request: web.Request, response: web.StreamResponse) -> None:
        origin = request.headers.get("Origin")
        if origin is None or not self.allowed(origin):
            return
        response.headers["Access-Control-Allow-Origin"] = self._allow_origin(origin)
        response.headers.add("Vary", "Origin")
        if self.config.credentials:
            response.headers["Access-Control-Allow-Credentials"] = "true"
        if self.config.expose_headers and request.method != "OPTIONS":
            response.headers["Access-Control-Expose-Headers"] = ", ".join(self.config.expose_headers)
