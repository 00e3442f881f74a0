"""Redaction for logs: secrets masked, long strings and collections cut, deep nesting stopped."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = ["SECRET_KEY", "redact"]

SECRET_KEY = re.compile(
    r"pass(word|wd|phrase)?|secret|token|authoriz|(^|[-_])auth([-_]|$)|api[-_]?key|cookie|credential"
    r"|private[-_]?key|session|signature|dsn",
    re.IGNORECASE,
)
"""Keys whose values are never logged (matched anywhere in the key: ``access_token``, ``X-Api-Key``)."""

MASK = "***"
_MAX_KEY = 100


def redact(
    value: Any,
    *,
    max_string: int = 200,
    max_items: int = 20,
    max_depth: int = 6,
    secret_key: re.Pattern[str] = SECRET_KEY,
) -> Any:
    """A copy of ``value`` that is safe and short enough to log.

    Values under secret-looking keys become ``***``; strings longer than ``max_string`` are cut with their
    length noted; lists and dicts keep their first ``max_items`` entries; nesting past ``max_depth`` is
    summarised. Values that are not JSON types are shown by their type name, never their ``repr``.

    Example:
        >>> redact({"user": "ann", "password": "hunter2", "bio": "x" * 300}, max_string=5)
        {'user': 'ann', 'password': '***', 'bio': 'xxxxx… (300 chars)'}
        >>> redact(list(range(30)), max_items=3)
        [0, 1, 2, '… (27 more)']
    """

    def walk(item: Any, depth: int) -> Any:
        if item is None or isinstance(item, bool | int | float):
            return item
        if isinstance(item, str):
            return item if len(item) <= max_string else f"{item[:max_string]}… ({len(item)} chars)"
        if isinstance(item, bytes | bytearray | memoryview):
            return f"<{len(item)} bytes>"
        if depth >= max_depth:
            return f"<{type(item).__name__} nested too deep>"
        if isinstance(item, Mapping):
            shown: dict[str, Any] = {}
            for index, (key, child) in enumerate(item.items()):
                if index == max_items:
                    shown["…"] = f"{len(item) - max_items} more keys"
                    break
                name = str(key)
                shown[name[:_MAX_KEY]] = MASK if secret_key.search(name) else walk(child, depth + 1)
            return shown
        if isinstance(item, list | tuple | set | frozenset):
            items = list(item)
            cut = [walk(child, depth + 1) for child in items[:max_items]]
            if len(items) > max_items:
                cut.append(f"… ({len(items) - max_items} more)")
            return cut
        return f"<{type(item).__name__}>"

    return walk(value, 0)
