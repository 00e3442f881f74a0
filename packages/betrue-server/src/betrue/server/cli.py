"""The ``betrue`` command line: run an app, check and document its config, list its commands.

Other packages add subcommands through the ``betrue.cli`` entry-point group: each entry point is a
function ``register(subparsers)`` (argparse). An entry point is imported only when its own subcommand
runs, so ``betrue --help`` and the built-in subcommands never import the other packages.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable, Sequence
from importlib.metadata import EntryPoint, entry_points
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from betrue.server.application import Application

__all__ = ["ENTRY_POINT_GROUP", "build_parser", "load_app", "main"]

ENTRY_POINT_GROUP = "betrue.cli"
ENVS_START, ENVS_END = "[envs]: start", "[envs]: end"


class CliError(Exception):
    """A mistake on the command line or in the app it names: printed without a traceback, exit code 1."""


def load_app(target: str) -> Application:
    """Import ``module:attribute`` (``attribute`` defaults to ``app``; a factory is called).

    The working directory is importable, as with ``python -m``: ``betrue run examples.hello.app:app``
    works from the repository root.

    Example:
        >>> load_app("examples.hello.app:app").name  # doctest: +SKIP
        'hello'
    """
    from betrue.server.application import Application

    module_name, _, attribute = target.partition(":")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        value: Any = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name and module_name.startswith(error.name):
            raise CliError(f"cannot import {module_name!r}: no module {error.name!r}") from None
        raise
    for part in (attribute or "app").split("."):
        try:
            value = getattr(value, part)
        except AttributeError:
            raise CliError(f"{module_name!r} has no attribute {attribute or 'app'!r}") from None
    if not isinstance(value, Application) and callable(value):
        value = value()
    if not isinstance(value, Application):
        raise CliError(f"{target!r} is {type(value).__name__}, not a betrue Application")
    return value


# -- built-in subcommands ---------------------------------------------------------------------------


def _run(args: argparse.Namespace) -> int:
    if args.reload:
        try:
            from watchfiles import run_process
        except ImportError:
            raise CliError("--reload needs watchfiles: pip install 'betrue-server[reload]'") from None
        paths = args.reload_dir or [os.getcwd()]
        return int(bool(run_process(*paths, target=_serve_in_child, args=(args.app,))))
    return _serve(load_app(args.app))


def _serve_in_child(target: str) -> None:
    """What ``--reload`` runs in each fresh process."""
    raise SystemExit(_serve(load_app(target)))


def _serve(app: Application) -> int:
    from betrue.config import ConfigError

    try:
        app.run()
    except ConfigError as error:
        print(f"betrue: the configuration of {app.name!r} has errors\n\n{error}", file=sys.stderr)
        return 1
    return 0


def _config_docs(args: argparse.Namespace) -> int:
    app = load_app(args.app)
    text = app.loader.docs(app.container.specs.values())
    if args.write is None:
        print(text)
        return 0
    from betrue.config import MarkerError, replace_between_markers

    try:
        changed = replace_between_markers(args.write, ENVS_START, ENVS_END, text)
    except (MarkerError, OSError) as error:
        raise CliError(str(error)) from None
    print(f"{args.write}: {'updated' if changed else 'already up to date'}")
    return 0


def _config_check(args: argparse.Namespace) -> int:
    app = load_app(args.app)
    services = len(app.container.plan())  # the count `betrue run` logs; a service without settings counts too
    report = app.loader.check(app.container.specs.values())
    if not report.ok:
        print(f"betrue: the configuration of {app.name!r} has errors\n\n{report.render()}", file=sys.stderr)
        return 1
    print(f"{app.name}: the configuration of {services} services is valid ({len(report.results)} have settings)")
    return 0


def _config_example(args: argparse.Namespace) -> int:
    from betrue.config import env_example

    app = load_app(args.app)
    text = env_example(app.loader.specs(app.container.specs.values()).values())
    if args.write is None:
        sys.stdout.write(text)
        return 0
    try:
        with open(args.write, "w", encoding="utf-8") as target:
            target.write(text)
    except OSError as error:
        raise CliError(str(error)) from None
    print(f"{args.write}: written")
    return 0


def _commands(args: argparse.Namespace) -> int:
    from betrue.server._builtins import describe_command
    from betrue.server.wire import encode_json

    app = load_app(args.app)
    listed = [c for c in app.commands.values() if args.all or not c.hidden]
    if args.json:
        print(encode_json([describe_command(c) for c in listed]).decode())
        return 0
    width = max((len(c.code) for c in listed), default=0)
    for command in listed:
        summary = command.description.strip().splitlines()[0] if command.description.strip() else ""
        print(f"{command.code.ljust(width)}  {summary}".rstrip())
    return 0


def _worker(args: argparse.Namespace) -> int:
    import asyncio

    from betrue.config import ConfigError
    from betrue.server.jobdaemon import serve_worker

    app = load_app(args.app)
    try:
        asyncio.run(
            serve_worker(
                app,
                concurrency=args.concurrency,
                grace=args.grace,
                ready_file=args.ready_file,
                cron=False if args.no_cron else None,
            )
        )
    except ConfigError as error:
        print(f"betrue: the configuration of {app.name!r} has errors\n\n{error}", file=sys.stderr)
        return 1
    except ValueError as error:
        raise CliError(str(error)) from None
    return 0


def _add_builtins(subparsers: Any) -> None:
    run = subparsers.add_parser("run", help="serve an app until SIGINT/SIGTERM", description="Serve an app.")
    run.add_argument("app", help="module:attribute of the Application, e.g. examples.hello.app:app")
    run.add_argument("--reload", action="store_true", help="restart when a file changes (development)")
    run.add_argument("--reload-dir", action="append", metavar="DIR", help="watch DIR (default: the working dir)")
    run.set_defaults(handler=_run)

    worker = subparsers.add_parser(
        "worker", help="run an app's jobs only (no HTTP) until SIGINT/SIGTERM", description="Run an app's jobs."
    )
    worker.add_argument("app", help="module:attribute of the Application")
    worker.add_argument("--concurrency", type=int, metavar="N", help="jobs run at once (default: JOBS_WORKERS)")
    worker.add_argument("--grace", type=float, metavar="S", help="seconds running jobs get at stop (JOBS_GRACE)")
    worker.add_argument("--ready-file", metavar="PATH", help="a file that exists while the worker takes jobs")
    worker.add_argument("--no-cron", action="store_true", help="do not run the app's cron schedules here")
    worker.set_defaults(handler=_worker)

    config = subparsers.add_parser("config", help="document or check the environment variables of an app")
    config_commands = config.add_subparsers(dest="config_command", metavar="{docs,check,example}", required=True)
    docs = config_commands.add_parser("docs", help="markdown tables of every service's environment variables")
    docs.add_argument("app", help="module:attribute of the Application")
    docs.add_argument("--write", metavar="FILE", help=f"replace the text between {ENVS_START!r} and {ENVS_END!r}")
    docs.set_defaults(handler=_config_docs)
    check = config_commands.add_parser("check", help="validate every service's config; exit 1 with the errors")
    check.add_argument("app", help="module:attribute of the Application")
    check.set_defaults(handler=_config_check)
    example = config_commands.add_parser("example", help="a .env.example: every variable with its comment")
    example.add_argument("app", help="module:attribute of the Application")
    example.add_argument("--write", metavar="FILE", help="write it to FILE (e.g. .env.example) instead of stdout")
    example.set_defaults(handler=_config_example)

    commands = subparsers.add_parser("commands", help="list the commands an app serves")
    commands.add_argument("app", help="module:attribute of the Application")
    commands.add_argument("--json", action="store_true", help="codes, descriptions and schemas as JSON")
    commands.add_argument("--all", action="store_true", help="include hidden commands (codes starting with _)")
    commands.set_defaults(handler=_commands)


# -- the parser, with lazily loaded entry points ----------------------------------------------------


def _plugins() -> dict[str, EntryPoint]:
    return {entry.name: entry for entry in entry_points(group=ENTRY_POINT_GROUP)}


def build_parser(argv: Sequence[str] = ()) -> argparse.ArgumentParser:
    """The parser; only the plugin whose subcommand is named in ``argv`` is imported."""
    parser = argparse.ArgumentParser(prog="betrue", description="betrue: run and inspect betrue applications.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _add_builtins(subparsers)
    chosen = next((arg for arg in argv if not arg.startswith("-")), None)
    for name, entry in sorted(_plugins().items()):
        if name in subparsers.choices:
            continue  # a plugin cannot replace a built-in subcommand
        if name == chosen:
            register: Callable[[Any], None] = entry.load()
            register(subparsers)
        else:
            package = entry.dist.name if entry.dist is not None else entry.value.split(":")[0]
            subparsers.add_parser(name, help=f"(from {package})", add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``betrue`` console script; returns the exit code."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(arguments)
    args = parser.parse_args(arguments)
    handler: Callable[[argparse.Namespace], int] | None = getattr(args, "handler", None)
    if handler is None:
        parser.error(f"{args.command!r} did not set a handler (its register() must call set_defaults(handler=...))")
    try:
        return handler(args)
    except BrokenPipeError:
        # `betrue config docs app | head`: the reader left; say nothing more (Python's documented recipe).
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except CliError as error:
        print(f"betrue: {error}", file=sys.stderr)
        return 1
    except Exception as error:
        from betrue.config import ConfigError
        from betrue.server.di import DependencyError
        from betrue.server.errors import StartError
        from betrue.server.validation import SchemaError

        if isinstance(error, ConfigError | DependencyError | SchemaError | StartError):
            print(f"betrue: {type(error).__name__}: {error}", file=sys.stderr)
            return 1
        raise


if __name__ == "__main__":
    raise SystemExit(main())
