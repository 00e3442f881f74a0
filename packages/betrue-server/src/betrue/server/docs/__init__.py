"""Generated documents of an application: OpenAPI 3.1 for its commands, AsyncAPI 3.0 for its events.

Example:
    >>> from betrue.server import Application
    >>> from betrue.server.docs import openapi_document
    >>> openapi_document(Application("demo"))["openapi"]
    '3.1.0'
"""

# Names load on first use: importing the package does not import every module behind it.
from typing import TYPE_CHECKING

from betrue.server._lazy import lazy_exports

if TYPE_CHECKING:
    from betrue.server.docs._asyncapi import asyncapi_document
    from betrue.server.docs._openapi import openapi_document, with_decoder_limits

_EXPORTS: dict[str, str] = {
    "asyncapi_document": "betrue.server.docs._asyncapi",
    "openapi_document": "betrue.server.docs._openapi",
    "with_decoder_limits": "betrue.server.docs._openapi",
}


__all__ = [
    "asyncapi_document",
    "openapi_document",
    "with_decoder_limits",
]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, __all__)
