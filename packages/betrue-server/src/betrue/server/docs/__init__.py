"""Generated documents of an application: OpenAPI 3.1 for its commands, AsyncAPI 3.0 for its events.

Example:
    >>> from betrue.server import Application
    >>> from betrue.server.docs import openapi_document
    >>> openapi_document(Application("demo"))["openapi"]
    '3.1.0'
"""

# Names load on first use: importing the package does not import every module behind it.
from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from betrue.server.docs._asyncapi import asyncapi_document
    from betrue.server.docs._openapi import openapi_document

_EXPORTS: dict[str, str] = {
    "asyncapi_document": "betrue.server.docs._asyncapi",
    "openapi_document": "betrue.server.docs._openapi",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'betrue.server.docs' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "asyncapi_document",
    "openapi_document",
]
