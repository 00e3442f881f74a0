"""A TCP proxy that misbehaves on purpose: put it between an app and what it talks to (an HTTP upstream,
NATS, PostgreSQL) and add latency, drop or reset connections, black-hole them, or limit the bandwidth.

Everything is asyncio in this process, on 127.0.0.1; the faults can be changed while connections are
open, and apply to the bytes that pass from then on.

Example:
    >>> async def test_the_gateway_answers_504_when_its_upstream_hangs():  # doctest: +SKIP
    ...     async with FaultProxy("127.0.0.1", upstream_port) as proxy:
    ...         gateway = make_gateway(upstream=proxy.url)
    ...         proxy.blackhole = True            # bytes in, nothing out: the upstream "hangs"
    ...         ...                               # expect 504 within the call's deadline
    ...         proxy.blackhole = False
    ...         proxy.reset_all()                 # every open connection gets a TCP reset
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import struct
from types import TracebackType

__all__ = ["FaultProxy"]

_CHUNK = 65536


class FaultProxy:
    """Forwards ``127.0.0.1:<port>`` to ``upstream_host:upstream_port``, with the faults its attributes set.

    - ``latency`` (seconds, plus up to ``jitter`` more): each chunk waits this long, in each direction;
    - ``bandwidth`` (bytes per second per direction and connection, None: unlimited);
    - ``drop`` (0..1): the chance a new connection is closed at once, before any byte passes;
    - ``refuse``: new connections are reset at once (as if nothing listened);
    - ``blackhole``: bytes are read and thrown away, nothing is forwarded, nothing comes back;
    - ``reset_all()``: every open connection is aborted with a TCP reset, both sides.

    ``connections`` counts the connections accepted, ``open`` the ones open now.
    """

    def __init__(
        self, upstream_host: str, upstream_port: int, *, host: str = "127.0.0.1", port: int = 0, seed: int = 0
    ) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.host = host
        self.port = port
        self.latency = 0.0
        self.jitter = 0.0
        self.bandwidth: int | None = None
        self.drop = 0.0
        self.refuse = False
        self.blackhole = False
        self.connections = 0
        self._random = random.Random(seed)
        self._server: asyncio.Server | None = None
        self._pairs: set[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def open(self) -> int:
        """Connections open through the proxy now."""
        return len(self._pairs)

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``: what to give an HTTP client instead of the upstream's address."""
        return f"http://{self.host}:{self.port}"

    def clear(self) -> None:
        """Remove every fault: the proxy forwards faithfully again (open connections included)."""
        self.latency = self.jitter = self.drop = 0.0
        self.bandwidth = None
        self.refuse = self.blackhole = False

    async def start(self) -> FaultProxy:
        self._server = await asyncio.start_server(self._accept, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        """Stop listening and close every connection."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        self.reset_all()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def __aenter__(self) -> FaultProxy:
        return await self.start()

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        await self.stop()

    def reset_all(self) -> None:
        """Abort every open connection with a TCP reset (RST), on both sides."""
        for client, upstream in list(self._pairs):
            _reset(client)
            _reset(upstream)
        self._pairs.clear()

    async def _accept(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        if self.refuse or (self.drop and self._random.random() < self.drop):
            (_reset if self.refuse else _close)(client_writer)
            return
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            _reset(client_writer)
            return
        pair = (client_writer, upstream_writer)
        self._pairs.add(pair)
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await asyncio.gather(self._pipe(client_reader, upstream_writer), self._pipe(upstream_reader, client_writer))
        finally:
            self._pairs.discard(pair)
            self._tasks.discard(task)
            _close(client_writer)
            _close(upstream_writer)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while chunk := await reader.read(_CHUNK):
                if self.blackhole:
                    continue
                delay = self.latency + (self._random.random() * self.jitter if self.jitter else 0.0)
                if self.bandwidth:
                    delay += len(chunk) / self.bandwidth
                if delay:
                    await asyncio.sleep(delay)
                writer.write(chunk)
                await writer.drain()
            if writer.can_write_eof() and not writer.is_closing():
                writer.write_eof()
        except (ConnectionError, OSError):
            _close(writer)


def _close(writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(Exception):
        writer.close()


def _reset(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    with contextlib.suppress(Exception):
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()
