"""Logging through loguru: JSON lines by default, pretty for development; one line per call."""

from __future__ import annotations

import sys
import time
import traceback
from typing import TYPE_CHECKING, Any

import orjson
from loguru import logger

from betrue.server.response import Response
from betrue.server.types import CallNext

if TYPE_CHECKING:
    from loguru import Message

    from betrue.server.appconfig import AppConfig
    from betrue.server.context import Context

__all__ = ["json_sink", "log_call", "setup_logging"]

_installed: list[int] = []
_call_mode = {"value": "all"}
_PRETTY = (
    "<green>{time:HH:mm:ss.SSS}</green> <level>{level: <7}</level> "
    "<dim>{extra[trace_id]!s:.8}</dim> <cyan>{extra[command]}</cyan> {message}"
)


def json_sink(message: Message) -> None:
    """Write one JSON object per line: time, level, message, trace id, command and other extras."""
    record = message.record
    line: dict[str, Any] = {
        "time": record["time"].isoformat(),
        "level": record["level"].name,
        "message": record["message"],
    }
    line.update(record["extra"])
    error = record["exception"]
    if error is not None:
        line["exception"] = "".join(traceback.format_exception(error.type, error.value, error.traceback))
    sys.stderr.buffer.write(orjson.dumps(line, default=str) + b"\n")
    sys.stderr.flush()


def setup_logging(config: AppConfig) -> None:
    """(Re)install betrue's sink; the sinks a user added themselves are left alone."""
    if not _installed:
        try:
            logger.remove(0)  # loguru's default stderr sink, replaced by ours
        except ValueError:
            pass
    for sink_id in _installed:
        logger.remove(sink_id)
    _installed.clear()
    logger.configure(extra={"trace_id": "-", "command": "-"})
    if config.log_pretty:
        _installed.append(
            logger.add(sys.stderr, level=config.log_level, format=_PRETTY, colorize=True, diagnose=False)
        )
    else:
        _installed.append(logger.add(json_sink, level=config.log_level, format="{message}", diagnose=False))
    _call_mode["value"] = config.log_calls


async def log_call(ctx: Context, params: Any, call_next: CallNext) -> Response:
    """One line per call with its status and duration (``LOG_CALLS`` chooses which calls)."""
    started = time.perf_counter()
    response = await call_next(ctx, params)
    mode = _call_mode["value"]
    if mode == "all" or (mode == "errors" and response.error is not None):
        duration_ms = round((time.perf_counter() - started) * 1000, 3)
        level = "INFO" if response.code < 500 else "ERROR"
        ctx.logger.log(level, "{} {} {}ms", ctx.code, response.status, duration_ms, status=response.status)
    return response
