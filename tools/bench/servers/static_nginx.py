"""The physical reference: Debian's nginx serving the benchmark files, one worker, no access log.

Writes a minimal config into a temporary folder and runs ``nginx -g 'daemon off;'`` in the foreground
(replacing this process, so the harness stops nginx itself). Exits with an error when nginx is not
installed. Run: ``python -m tools.bench.servers.static_nginx --port 8080``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

from tools.bench.servers.static_payload import ensure_root

__all__ = ["config_text"]


def config_text(root: Path, port: int, folder: Path) -> str:
    """An nginx.conf serving ``root`` on 127.0.0.1:``port`` with one worker (one core, like the others)."""
    return f"""
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    default_type application/octet-stream;
    server {{
        listen 127.0.0.1:{port};
        root {root};
    }}
}}
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    nginx = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.path.exists(p)), None)
    if nginx is None:
        sys.exit("nginx is not installed (apt-get install nginx-light)")
    folder = Path(tempfile.mkdtemp(prefix="betrue-bench-nginx-"))
    config = folder / "nginx.conf"
    config.write_text(config_text(ensure_root(), args.port, folder))
    os.execv(nginx, [nginx, "-c", str(config), "-p", str(folder), "-g", "daemon off;"])


if __name__ == "__main__":
    main()
