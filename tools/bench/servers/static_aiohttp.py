"""Baselines for static files on aiohttp: ``web.static`` (reads the disk per request) or a dict of bytes.

``--mode static``: ``app.router.add_static("/", root)``, aiohttp's own file serving (sendfile, ETag).
``--mode memory``: the files read once into a dict; a handler returns ``web.Response(body=...)``, the least
a Python handler on aiohttp can do. Run: ``python -m tools.bench.servers.static_aiohttp --mode memory --port 8080``.
"""

from __future__ import annotations

import argparse

from aiohttp import web

from tools.bench.servers.static_payload import ensure_root

__all__ = ["make_app"]


def make_app(mode: str) -> web.Application:
    root = ensure_root()
    app = web.Application()
    if mode == "static":
        app.router.add_static("/", root)
        return app
    files = {path.name: path.read_bytes() for path in root.iterdir() if path.is_file()}

    async def serve(request: web.Request) -> web.Response:
        body = files.get(request.match_info["name"])
        if body is None:
            raise web.HTTPNotFound()
        return web.Response(body=body, content_type="application/octet-stream")

    app.router.add_get("/{name}", serve)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mode", choices=("static", "memory"), required=True)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    web.run_app(make_app(args.mode), host="127.0.0.1", port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
