"""betrue side of the gateway hop: a betrue gateway proxying ``bench/order`` to a betrue app over HTTP.

The upstream is ``betrue_validated`` in a child process; the gateway discovers it (``GATEWAY_UPSTREAMS``),
validates the order itself as every betrue gateway does, and forwards it on a pooled keep-alive session.
Run: ``HTTP_PORT=8080 python -m tools.bench.servers.gateway_hop_betrue``.
"""

from __future__ import annotations

import os

from betrue.server import Application
from tools.bench.servers.gateway_hop import start_upstream
from tools.bench.servers.payload import BODY

__all__ = ["main"]


def main() -> None:
    upstream, port = start_upstream(
        ["-m", "tools.bench.servers.betrue_validated"], {"HTTP_PORT": "{port}"}, "/api/bench/order", BODY
    )
    try:
        environ = {**os.environ, "GATEWAY_UPSTREAMS": f"bench=http://127.0.0.1:{port}"}
        app = Application("gateway", env_file=None, environ=environ)
        app.proxy()
        app.run()
    finally:
        upstream.terminate()
        upstream.wait(5)


if __name__ == "__main__":
    main()
