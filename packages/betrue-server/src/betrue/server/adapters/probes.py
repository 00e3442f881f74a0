"""Probes for orchestrators: ``GET /_app/health`` (liveness) and ``GET /_app/ready`` (readiness).

Both are plain GETs a Kubernetes ``httpGet`` probe can use, answered with the usual envelope. Readiness
asks every started service that reports it (``betrue.server.ext.ReportsReadiness``: a database pool, a
NATS connection): 200 when all are ready and the app takes calls, 503 with each service's detail otherwise.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web
from loguru import logger

from betrue.server.adapters._http_server import envelope_response
from betrue.server.context import trace_id_from
from betrue.server.errors import ServiceUnavailable
from betrue.server.readiness import Readiness, ReportsReadiness
from betrue.server.wire import encode_json

if TYPE_CHECKING:
    from betrue.server.application import Application

__all__ = ["HEALTH_PATH", "READY_PATH", "add_probe_routes", "readiness_of"]

HEALTH_PATH = "/_app/health"
READY_PATH = "/_app/ready"


def readiness_of(app: Application) -> dict[str, Readiness]:
    """Every started service that reports readiness, by name; a report that raises counts as not ready."""
    found: dict[str, Readiness] = {}
    for name, instance, held in app.container.started():
        # The value DI hands out, or the object that made it (a pool service whose start returns the pool).
        # Asked of the class: the client answers any attribute (``client.readiness`` would be a command call).
        service: Any = next((s for s in (held, instance) if _reports(s)), None)
        if service is None:
            continue
        try:
            found[name] = service.readiness()
        except Exception as error:
            logger.opt(exception=True).warning("service {} failed to report readiness", name)
            found[name] = Readiness(False, f"readiness() raised {type(error).__name__}")
    return found


def _reports(service: Any) -> bool:
    return callable(getattr(type(service), "readiness", None)) and isinstance(service, ReportsReadiness)


def add_probe_routes(web_app: web.Application, app: Application) -> None:
    """Add ``GET /_app/health`` and ``GET /_app/ready`` to the HTTP server of ``app``."""

    async def health(request: web.Request) -> web.Response:
        return _answer(request, {"status": "alive", "app": app.name})

    async def ready(request: web.Request) -> web.Response:
        services = readiness_of(app)
        listed = {name: {"ready": r.ready, "detail": r.detail} for name, r in sorted(services.items())}
        waiting = [name for name, r in services.items() if not r.ready]
        if not app.started or not app.router.accepting:
            waiting.insert(0, "app (starting or stopping)")
        if waiting:
            error = ServiceUnavailable(
                f"not ready: {', '.join(waiting)}", details={"reason": "not_ready", "services": listed}
            )
            return envelope_response(error, _trace_id(request))
        return _answer(request, {"status": "ready", "app": app.name, "services": listed})

    web_app.router.add_get(HEALTH_PATH, health, name="betrue-health", allow_head=True)
    web_app.router.add_get(READY_PATH, ready, name="betrue-ready", allow_head=True)


def _trace_id(request: web.Request) -> str:
    return trace_id_from({name.lower(): value for name, value in request.headers.items()})


def _answer(request: web.Request, result: dict[str, Any]) -> web.Response:
    trace_id = _trace_id(request)
    body = encode_json({"code": 200, "status": "Success", "result": result, "traceId": trace_id})
    return web.Response(body=body, headers={"Content-Type": "application/json", "x-trace-id": trace_id})
