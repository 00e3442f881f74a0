"""Start the upstream of a gateway-hop server: a child process on a free port, ready before the hop starts.

Both sides of ``gateway-hop-vs-aiohttp`` use it, so they pay the same for it: the child runs in the
launcher's process group (the harness stops both with one signal) and on its pinned core.
"""

from __future__ import annotations

import http.client
import os
import subprocess
import sys
import time
from collections.abc import Sequence

from tools.bench.harness.processes import free_port

__all__ = ["start_upstream"]


def start_upstream(
    argv: Sequence[str], env: dict[str, str], path: str, body: bytes
) -> tuple[subprocess.Popen[bytes], int]:
    """Run ``argv`` (``{port}`` replaced) with ``env`` on a free port; return once ``POST path`` answers 200."""
    port = free_port()
    command = [part.replace("{port}", str(port)) for part in argv]
    environ = {**os.environ, **{name: value.replace("{port}", str(port)) for name, value in env.items()}}
    process = subprocess.Popen([sys.executable, *command], env=environ)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"upstream {command} exited with {process.returncode}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            connection.request("POST", path, body, {"Content-Type": "application/json"})
            if connection.getresponse().status == 200:
                return process, port
        except OSError:
            pass
        time.sleep(0.05)
    process.kill()
    raise SystemExit(f"upstream {command} did not answer on port {port}")
