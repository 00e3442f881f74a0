"""``betrue openapi module:app [--out FILE]``: write an app's OpenAPI (or AsyncAPI) document.

Registered through the ``betrue.cli`` entry-point group, so ``betrue`` imports this module only
when the subcommand runs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

__all__ = ["register"]


def register(subparsers: Any) -> None:
    """Add the ``openapi`` subcommand to the ``betrue`` command line (argparse subparsers)."""
    parser = subparsers.add_parser(
        "openapi",
        help="write an app's OpenAPI 3.1 document (or its AsyncAPI 3.0 one)",
        description="Write the OpenAPI 3.1 document of an app's commands, as /docs/openapi.json serves it.",
    )
    parser.add_argument("app", help="module:attribute of the Application, e.g. examples.chat.app:app")
    parser.add_argument("--out", metavar="FILE", help="write to FILE instead of the standard output")
    parser.add_argument("--asyncapi", action="store_true", help="write the AsyncAPI 3.0 document of its events")
    parser.add_argument("--api-prefix", default="/api", help="path prefix of command calls (default: /api)")
    parser.add_argument("--title", help="document title (default: the app's name)")
    parser.add_argument("--version", default="1.0.0", help="document version (default: 1.0.0)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Build the document and write it as indented JSON; returns the exit code."""
    import orjson

    from betrue.server import asyncapi_document, openapi_document
    from betrue.server.cli import load_app  # the CLI's own loader: same module:attribute rules everywhere

    app = load_app(args.app)
    if args.asyncapi:
        document = asyncapi_document(app, title=args.title, version=args.version)
    else:
        document = openapi_document(app, title=args.title, version=args.version, api_prefix=args.api_prefix)
    text = orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n"
    if args.out is None:
        sys.stdout.write(text.decode("utf-8"))
        return 0
    Path(args.out).write_bytes(text)
    kind = "AsyncAPI" if args.asyncapi else "OpenAPI"
    print(f"{args.out}: {kind} document of {app.name} ({len(document.get('paths') or document['channels'])} entries)")
    return 0
