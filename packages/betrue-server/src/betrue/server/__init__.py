"""betrue.server: applications of services and commands, served over HTTP; the core of betrue.

Example:
    >>> from betrue.server import Application, Group
    >>> users = Group("user")
    >>> @users.command("hello", input={"type": "object", "properties": {"name": {"type": "string"}}})
    ... async def hello(params, ctx):
    ...     return {"greeting": f"hello {params.get('name', 'world')}"}
    >>> app = Application("demo", groups=[users])
"""

from betrue.server.adapters.base import Adapter
from betrue.server.adapters.http import HttpAdapter, HttpConfig
from betrue.server.appconfig import AppConfig
from betrue.server.application import Application
from betrue.server.asyncapi import asyncapi_document
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
from betrue.server.calls import Call, ClientMiddleware
from betrue.server.client import BoundClient, Client, MetaHook
from betrue.server.commands import Command, CommandClass, Group, Subscriber
from betrue.server.context import Context, Identity, new_trace_id, trace_id_from
from betrue.server.di import DependencyError, RequestScope, Service, ServiceContainer, ServiceSpec
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
from betrue.server.gateway import Gateway, GatewayConfig
from betrue.server.openapi import openapi_document
from betrue.server.resilience import Policy
from betrue.server.response import Response
from betrue.server.routing import ClientConfig
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
from betrue.server.telemetry import Telemetry, TelemetryConfig
from betrue.server.transports.base import Transport
from betrue.server.transports.http import HttpTransport
from betrue.server.transports.local import LocalTransport
from betrue.server.types import CallNext, EventHandler, Handler, Meta, Middleware, Schema, Scope
from betrue.server.validation import SchemaError, compile_schema
from betrue.server.wire import decode_json, encode_json

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
