"""betrue.server: applications of services and commands, served over HTTP; the core of betrue.

Example:
    >>> from betrue.server import Application, Group
    >>> users = Group("user")
    >>> @users.command("hello", input={"type": "object", "properties": {"name": {"type": "string"}}})
    ... async def hello(params, ctx):
    ...     return {"greeting": f"hello {params.get('name', 'world')}"}
    >>> app = Application("demo", groups=[users])
"""

# The names load on first use, so `betrue --help` and a plugin that needs one module do not import the
# whole server (aiohttp, OpenTelemetry, PyJWT, …). Type checkers see the imports below.
from typing import TYPE_CHECKING

from betrue.server._lazy import lazy_exports

if TYPE_CHECKING:
    from betrue.server.adapters.base import Adapter
    from betrue.server.adapters.cors import Cors, CorsConfig
    from betrue.server.adapters.http import HttpAdapter, HttpConfig
    from betrue.server.appconfig import AppConfig
    from betrue.server.application import Application
    from betrue.server.auth import (
        ApiKeyAuthenticator,
        Auth,
        AuthConfig,
        Authenticator,
        JwtAuthenticator,
        RateLimiter,
        issue_token,
        use_auth,
    )
    from betrue.server.client._calls import Call, ClientMiddleware
    from betrue.server.client._client import BoundClient, Client, MetaHook
    from betrue.server.client._config import ClientConfig
    from betrue.server.client._resilience import Policy
    from betrue.server.client.transports.base import Transport
    from betrue.server.client.transports.http import HttpTransport
    from betrue.server.client.transports.local import LocalTransport
    from betrue.server.commands import Command, CommandClass, Group, Subscriber
    from betrue.server.context import Context, Identity, new_trace_id, trace_id_from
    from betrue.server.di import DependencyError, RequestScope, Service, ServiceContainer, ServiceSpec
    from betrue.server.docs._asyncapi import asyncapi_document
    from betrue.server.docs._openapi import openapi_document
    from betrue.server.errors import (
        BadGateway,
        BetrueError,
        Conflict,
        Forbidden,
        GatewayTimeout,
        InternalError,
        MethodNotAllowed,
        NotFound,
        PayloadTooLarge,
        RequestTimeout,
        ServiceUnavailable,
        TooManyRequests,
        Unauthorized,
        UnsupportedMediaType,
        ValidationError,
        error_class,
        error_from_envelope,
    )
    from betrue.server.eventdecl import EventDeclaration, declare_event, declared_events
    from betrue.server.events import Event, EventBus, MemoryEventBus, Subscription, matches
    from betrue.server.gateway._gateway import Gateway, GatewayConfig
    from betrue.server.observability._telemetry import Telemetry, TelemetryConfig
    from betrue.server.response import Response
    from betrue.server.streams import (
        BytesDownload,
        Download,
        FileDownload,
        RangeNotSatisfiable,
        StreamDownload,
        StreamSpec,
        Upload,
        UploadFile,
    )
    from betrue.server.types import CallNext, EventHandler, Handler, Meta, Middleware, Schema, Scope
    from betrue.server.validation import SchemaError, compile_schema
    from betrue.server.wire import decode_json, encode_json

_EXPORTS: dict[str, str] = {
    "Adapter": "betrue.server.adapters.base",
    "ApiKeyAuthenticator": "betrue.server.auth",
    "AppConfig": "betrue.server.appconfig",
    "Application": "betrue.server.application",
    "Auth": "betrue.server.auth",
    "AuthConfig": "betrue.server.auth",
    "Authenticator": "betrue.server.auth",
    "BadGateway": "betrue.server.errors",
    "BetrueError": "betrue.server.errors",
    "BoundClient": "betrue.server.client._client",
    "BytesDownload": "betrue.server.streams",
    "Call": "betrue.server.client._calls",
    "CallNext": "betrue.server.types",
    "Client": "betrue.server.client._client",
    "ClientConfig": "betrue.server.client._config",
    "ClientMiddleware": "betrue.server.client._calls",
    "Command": "betrue.server.commands",
    "CommandClass": "betrue.server.commands",
    "Conflict": "betrue.server.errors",
    "Context": "betrue.server.context",
    "DependencyError": "betrue.server.di",
    "Download": "betrue.server.streams",
    "Event": "betrue.server.events",
    "EventBus": "betrue.server.events",
    "EventDeclaration": "betrue.server.eventdecl",
    "EventHandler": "betrue.server.types",
    "FileDownload": "betrue.server.streams",
    "Forbidden": "betrue.server.errors",
    "Gateway": "betrue.server.gateway._gateway",
    "GatewayConfig": "betrue.server.gateway._gateway",
    "GatewayTimeout": "betrue.server.errors",
    "Group": "betrue.server.commands",
    "Handler": "betrue.server.types",
    "Cors": "betrue.server.adapters.cors",
    "CorsConfig": "betrue.server.adapters.cors",
    "HttpAdapter": "betrue.server.adapters.http",
    "HttpConfig": "betrue.server.adapters.http",
    "HttpTransport": "betrue.server.client.transports.http",
    "Identity": "betrue.server.context",
    "InternalError": "betrue.server.errors",
    "JwtAuthenticator": "betrue.server.auth",
    "LocalTransport": "betrue.server.client.transports.local",
    "MemoryEventBus": "betrue.server.events",
    "Meta": "betrue.server.types",
    "MetaHook": "betrue.server.client._client",
    "MethodNotAllowed": "betrue.server.errors",
    "Middleware": "betrue.server.types",
    "NotFound": "betrue.server.errors",
    "PayloadTooLarge": "betrue.server.errors",
    "Policy": "betrue.server.client._resilience",
    "RangeNotSatisfiable": "betrue.server.streams",
    "RateLimiter": "betrue.server.auth",
    "RequestScope": "betrue.server.di",
    "RequestTimeout": "betrue.server.errors",
    "Response": "betrue.server.response",
    "Schema": "betrue.server.types",
    "SchemaError": "betrue.server.validation",
    "Scope": "betrue.server.types",
    "Service": "betrue.server.di",
    "ServiceContainer": "betrue.server.di",
    "ServiceSpec": "betrue.server.di",
    "ServiceUnavailable": "betrue.server.errors",
    "StreamDownload": "betrue.server.streams",
    "StreamSpec": "betrue.server.streams",
    "Subscriber": "betrue.server.commands",
    "Subscription": "betrue.server.events",
    "Telemetry": "betrue.server.observability._telemetry",
    "TelemetryConfig": "betrue.server.observability._telemetry",
    "TooManyRequests": "betrue.server.errors",
    "Transport": "betrue.server.client.transports.base",
    "Unauthorized": "betrue.server.errors",
    "UnsupportedMediaType": "betrue.server.errors",
    "Upload": "betrue.server.streams",
    "UploadFile": "betrue.server.streams",
    "ValidationError": "betrue.server.errors",
    "asyncapi_document": "betrue.server.docs._asyncapi",
    "compile_schema": "betrue.server.validation",
    "declare_event": "betrue.server.eventdecl",
    "declared_events": "betrue.server.eventdecl",
    "decode_json": "betrue.server.wire",
    "encode_json": "betrue.server.wire",
    "error_class": "betrue.server.errors",
    "error_from_envelope": "betrue.server.errors",
    "issue_token": "betrue.server.auth",
    "matches": "betrue.server.events",
    "new_trace_id": "betrue.server.context",
    "openapi_document": "betrue.server.docs._openapi",
    "trace_id_from": "betrue.server.context",
    "use_auth": "betrue.server.auth",
}


__all__ = [
    "Adapter",
    "ApiKeyAuthenticator",
    "AppConfig",
    "Application",
    "Auth",
    "AuthConfig",
    "Authenticator",
    "BadGateway",
    "BetrueError",
    "BoundClient",
    "BytesDownload",
    "Call",
    "CallNext",
    "Client",
    "ClientConfig",
    "ClientMiddleware",
    "Command",
    "CommandClass",
    "Conflict",
    "Context",
    "Cors",
    "CorsConfig",
    "DependencyError",
    "Download",
    "Event",
    "EventBus",
    "EventDeclaration",
    "EventHandler",
    "FileDownload",
    "Forbidden",
    "Gateway",
    "GatewayConfig",
    "GatewayTimeout",
    "Group",
    "Handler",
    "HttpAdapter",
    "HttpConfig",
    "HttpTransport",
    "Identity",
    "InternalError",
    "JwtAuthenticator",
    "LocalTransport",
    "MemoryEventBus",
    "Meta",
    "MetaHook",
    "MethodNotAllowed",
    "Middleware",
    "NotFound",
    "PayloadTooLarge",
    "Policy",
    "RangeNotSatisfiable",
    "RateLimiter",
    "RequestScope",
    "RequestTimeout",
    "Response",
    "Schema",
    "SchemaError",
    "Scope",
    "Service",
    "ServiceContainer",
    "ServiceSpec",
    "ServiceUnavailable",
    "StreamDownload",
    "StreamSpec",
    "Subscriber",
    "Subscription",
    "Telemetry",
    "TelemetryConfig",
    "TooManyRequests",
    "Transport",
    "Unauthorized",
    "UnsupportedMediaType",
    "Upload",
    "UploadFile",
    "ValidationError",
    "asyncapi_document",
    "compile_schema",
    "declare_event",
    "declared_events",
    "decode_json",
    "encode_json",
    "error_class",
    "error_from_envelope",
    "issue_token",
    "matches",
    "new_trace_id",
    "openapi_document",
    "trace_id_from",
    "use_auth",
]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, __all__)
