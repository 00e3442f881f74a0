"""``ScratchServer``: a throwaway PostgreSQL of its own, on a free port, for outage and restart tests.

Never restart a shared server to test what happens when the database goes away: start one of these.
It runs the binaries of the ``pgserver`` wheel, else the machine's (``/usr/lib/postgresql/*/bin``);
as root it runs them as the unprivileged user ``pgserver`` (made when missing), as PostgreSQL requires.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import warnings
from pathlib import Path

__all__ = ["ScratchServer", "free_port", "postgres_binaries"]

_USER = "pgserver"


def postgres_binaries() -> Path:
    """The folder holding ``initdb`` and ``pg_ctl``; FileNotFoundError when there is none."""
    try:
        with warnings.catch_warnings():  # platformdirs warns at import when XDG_RUNTIME_DIR is unset
            warnings.simplefilter("ignore")
            from pgserver._commands import POSTGRES_BIN_PATH  # type: ignore[import-untyped,unused-ignore]

        if (Path(POSTGRES_BIN_PATH) / "pg_ctl").exists():
            return Path(POSTGRES_BIN_PATH)
    except ImportError:
        pass
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parent.parent.name))
    if not found:
        raise FileNotFoundError("no PostgreSQL binaries: install the pgserver wheel or the postgresql package")
    return found[-1].parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class ScratchServer:
    """A PostgreSQL in a temporary folder on a free port of 127.0.0.1; ``remove()`` deletes it all.

    Example:
        >>> server = ScratchServer()  # doctest: +SKIP
        >>> server.start(); server.stop(); server.start()  # doctest: +SKIP
        >>> server.dsn  # doctest: +SKIP
        'postgresql://postgres@127.0.0.1:41234/postgres'
        >>> server.remove()  # doctest: +SKIP
    """

    def __init__(self) -> None:
        self.bin = postgres_binaries()
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="betrue-pg-"))
        self.data = self.folder / "data"
        self._user: str | None = None
        if os.geteuid() == 0:
            self._user = _USER
            try:
                pwd.getpwnam(_USER)
            except KeyError:
                subprocess.run(["useradd", "-M", "-s", "/usr/sbin/nologin", _USER], check=True, capture_output=True)
            shutil.chown(self.folder, _USER)
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8")

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        """Start it and wait until it accepts connections."""
        options = f"-p {self.port} -h 127.0.0.1 -k {self.folder} -c fsync=off -c full_page_writes=off"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.folder / "log"), "-o", options, "-w", "start")

    def stop(self, mode: str = "immediate") -> None:
        """Stop it: ``immediate`` (like a crash: connections cut at once), ``fast`` or ``smart``."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def remove(self) -> None:
        """Stop it if running and delete its folder."""
        if (self.data / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop", check=False)
        shutil.rmtree(self.folder, ignore_errors=True)

    def _run(self, program: str, *args: str, check: bool = True) -> None:
        subprocess.run(
            [str(self.bin / program), *args],
            check=check,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            user=self._user,
            timeout=60,
        )
