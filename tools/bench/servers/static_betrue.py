"""betrue: ``StaticService`` serving the benchmark files from memory at ``/``.

Production defaults: JSON logs at INFO (a static hit logs nothing per request), default Cache-Control,
ETag and compression settings. Run: ``HTTP_PORT=8080 python -m tools.bench.servers.static_betrue``.
"""

from __future__ import annotations

from betrue.server import Application
from betrue.static import StaticService
from tools.bench.servers.static_payload import ensure_root

__all__ = ["app"]

app = Application("bench-static", env_file=None)
app.add_service(StaticService, config={"root": str(ensure_root()), "prefix": "/", "log_files": False})

if __name__ == "__main__":
    app.run()
