"""Call meta in NATS headers, and the deadline the responder enforces.

Meta travels as NATS headers with lower-case names (``traceparent``, ``x-trace-id``, the identity
assertion). The deadline travels twice: ``x-timeout-ms`` (milliseconds the caller still waits, as over
HTTP) and ``x-deadline-ms`` (the absolute instant, Unix milliseconds). The responder takes the earlier
of the two. The absolute one is what stops ghost executions: nats-py keeps what it could not write while
disconnected and sends it after reconnecting, seconds later, and only an absolute instant tells the
responder that the caller has given up. Hosts' clocks must agree (NTP) to within the deadlines you use.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping

from betrue.server.ext import deadline_from_meta

__all__ = ["DEADLINE_HEADER", "TIMEOUT_HEADER", "deadline_of", "meta_from_headers", "request_headers"]

TIMEOUT_HEADER = "x-timeout-ms"
DEADLINE_HEADER = "x-deadline-ms"


def request_headers(meta: Mapping[str, str], deadline: float | None) -> dict[str, str]:
    """The NATS headers of one call: its meta plus both deadline headers."""
    headers = dict(meta)
    if deadline is not None:
        headers[TIMEOUT_HEADER] = str(max(0, math.floor((deadline - time.time()) * 1000)))
        headers[DEADLINE_HEADER] = str(math.floor(deadline * 1000))
    return headers


def meta_from_headers(headers: Mapping[str, str] | None) -> dict[str, str]:
    """The call meta of a NATS message: its headers with lower-case names."""
    if not headers:
        return {}
    return {name.lower(): value for name, value in headers.items()}


def deadline_of(meta: Mapping[str, str]) -> float | None:
    """The earlier of the relative and the absolute deadline in ``meta`` (a ``time.time()`` instant).

    Example:
        >>> deadline_of({"x-deadline-ms": "1000"})
        1.0
    """
    relative = deadline_from_meta(meta)
    raw = meta.get(DEADLINE_HEADER)
    absolute = None
    if raw is not None:
        try:
            absolute = float(raw) / 1000
        except ValueError:
            absolute = None
        if absolute is not None and not math.isfinite(absolute):
            absolute = None
    if relative is None:
        return absolute
    return relative if absolute is None else min(relative, absolute)
