"""betrue.ws: commands over WebSocket, server push to connections selected by attributes, a browser client.

Example:
    >>> from betrue.server import Application
    >>> from betrue.ws import WsAdapter
    >>> app = Application("chat")
    >>> spec = app.add_service(WsAdapter)  # WebSocket at /ws on the HTTP adapter's server
"""

from pathlib import Path

from betrue.ws.adapter import WsAdapter, WsConfig
from betrue.ws.connection import Connection, ConnectionState
from betrue.ws.handshake import OriginPolicy
from betrue.ws.protocol import (
    CLOSE_GOING_AWAY,
    CLOSE_NORMAL,
    CLOSE_TOO_BIG,
    CLOSE_TOO_SLOW,
    BadFrame,
    Call,
    CallId,
    parse_call,
    push_frame,
)
from betrue.ws.registry import ConnectionRegistry
from betrue.ws.session import Session
from betrue.ws.wsclient import WsClient

__all__ = [
    "CLIENT_DIR",
    "CLOSE_GOING_AWAY",
    "CLOSE_NORMAL",
    "CLOSE_TOO_BIG",
    "CLOSE_TOO_SLOW",
    "BadFrame",
    "Call",
    "CallId",
    "Connection",
    "ConnectionRegistry",
    "ConnectionState",
    "OriginPolicy",
    "Session",
    "WsAdapter",
    "WsClient",
    "WsConfig",
    "parse_call",
    "push_frame",
]

CLIENT_DIR = Path(__file__).with_name("client")
"""The folder holding ``betrue-ws.js``, the browser client; serve it with a StaticService."""
