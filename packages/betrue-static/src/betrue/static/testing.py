"""Test helpers for static files: serve an app on a free port, send a request line exactly as written.

HTTP clients normalise URLs (``/a/../b`` becomes ``/b`` before it is sent); ``raw_request`` does not,
so a test can check what a server does with traversal attempts.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from betrue.server import Application

__all__ = ["RawReply", "raw_request", "serving"]


@dataclass(frozen=True, slots=True)
class RawReply:
    """Status, headers (lower-case names; the last one wins) and body of a raw HTTP/1.1 response."""

    status: int
    headers: dict[str, str]
    body: bytes


@asynccontextmanager
async def serving(app: Application) -> AsyncIterator[str]:
    """Start ``app`` and yield its base URL (``http://127.0.0.1:<port>``); stop it on exit.

    Give the app ``HTTP_PORT=0`` (``Application(..., environ={"HTTP_PORT": "0"})``) for a free port.

    Example:
        >>> async def test_home(app):  # doctest: +SKIP
        ...     async with serving(app) as url:
        ...         assert (await raw_request(url, "/")).status == 200
    """
    await app.start()
    try:
        yield str(app.service("http").url)
    finally:
        await app.stop()


async def raw_request(
    url: str, target: str, headers: Mapping[str, str] | None = None, *, method: str = "GET", timeout: float = 10.0
) -> RawReply:
    """Send ``method target HTTP/1.1`` to ``url`` byte for byte (no normalisation) and read the response.

    Example:
        >>> reply = await raw_request("http://127.0.0.1:3000", "/%2e%2e/etc/passwd")  # doctest: +SKIP
        >>> reply.status  # doctest: +SKIP
        404
    """
    host, port = url.removeprefix("http://").rstrip("/").rsplit(":", 1)
    reader, writer = await asyncio.open_connection(host.strip("[]"), int(port))
    try:
        lines = [f"{method} {target} HTTP/1.1", f"Host: {host}", "Connection: close"]
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        await writer.drain()
        async with asyncio.timeout(timeout):
            data = await reader.read()
    finally:
        writer.close()
        await writer.wait_closed()
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    parsed: dict[str, str] = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        parsed[name.strip().lower()] = value.strip()
    return RawReply(int(status_line.split()[1]), parsed, body)
