"""Static files: betrue-static (from memory, prebuilt headers) against aiohttp's ``web.static``, a raw
in-memory aiohttp handler, and Debian's nginx as the physical reference.

Each server serves the same two files (``tools/bench/servers/static_payload.py``): 10 KiB and 1 MiB of
incompressible bytes, asked for without ``Accept-Encoding`` so every side sends the same bytes. betrue
answers with its full set of headers (ETag, Cache-Control, Last-Modified, Accept-Ranges, nosniff); the raw
handler sends only Content-Type, the least aiohttp can do. ``web.static`` reads the disk per request.
"""

from __future__ import annotations

from collections.abc import Callable

from tools.bench.harness import Comparison, HttpRequest, Server, python_module
from tools.bench.servers.static_payload import expected

__all__ = ["STATIC_1M", "STATIC_10K"]


def _same_bytes(name: str) -> Callable[[bytes], str | None]:
    content = expected(name)

    def check(body: bytes) -> str | None:
        return None if body == content else f"not the bytes of {name} ({len(body)} bytes)"

    return check


def _get(name: str) -> HttpRequest:
    return HttpRequest("GET", f"/{name}", check=_same_bytes(name))


BETRUE = Server(
    "betrue-static (StaticService, in memory), JSON logs at INFO",
    python_module("tools.bench.servers.static_betrue"),
    env={"HTTP_HOST": "127.0.0.1", "HTTP_PORT": "{port}", "LOG_LEVEL": "INFO", "LOG_PRETTY": "false"},
)
AIOHTTP_STATIC = Server(
    "aiohttp web.static (disk, sendfile)",
    python_module("tools.bench.servers.static_aiohttp", "--mode", "static", "--port", "{port}"),
)
AIOHTTP_MEMORY = Server(
    "aiohttp handler returning bytes from a dict",
    python_module("tools.bench.servers.static_aiohttp", "--mode", "memory", "--port", "{port}"),
)
NGINX = Server(
    "nginx (Debian, 1 worker, sendfile)",
    python_module("tools.bench.servers.static_nginx", "--port", "{port}"),
)

STATIC_10K = [
    Comparison(
        "static-10k-vs-aiohttp-static",
        betrue=BETRUE,
        baseline=AIOHTTP_STATIC,
        request=_get("file-10k.bin"),
        goal=5.0,
        description="A 10 KiB file from memory against aiohttp reading it from disk per request.",
    ),
    Comparison(
        "static-10k-vs-aiohttp-memory",
        betrue=BETRUE,
        baseline=AIOHTTP_MEMORY,
        request=_get("file-10k.bin"),
        goal=0.9,
        description="The cost of the key rules, ETag/Range/encoding checks and headers over a bare dict lookup.",
    ),
    Comparison(
        "static-10k-vs-nginx",
        betrue=BETRUE,
        baseline=NGINX,
        request=_get("file-10k.bin"),
        goal=0.2,
        description="The physical reference: what one core can serve at all (nginx in C, sendfile).",
    ),
]

STATIC_1M = [
    Comparison(
        "static-1m-vs-aiohttp-static",
        betrue=BETRUE,
        baseline=AIOHTTP_STATIC,
        request=_get("file-1m.bin"),
        goal=1.0,
        connections=10,
        description="A 1 MiB file: memory copies against sendfile from the page cache.",
    ),
    Comparison(
        "static-1m-vs-aiohttp-memory",
        betrue=BETRUE,
        baseline=AIOHTTP_MEMORY,
        request=_get("file-1m.bin"),
        goal=0.9,
        connections=10,
        description="A 1 MiB file from memory, betrue against the bare handler.",
    ),
]
