"""The HTTP adapter on aiohttp (placeholder: being written)."""

from __future__ import annotations

from betrue.server.adapters.base import Adapter

__all__ = ["HttpAdapter"]


class HttpAdapter(Adapter):
    name = "http"
