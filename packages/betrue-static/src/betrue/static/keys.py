"""The file key: how a request path and a file name both become the one string a lookup uses.

A request never builds a filesystem path: its key is looked up in a dict of files loaded at
start, so ``..``, encoded dots, backslashes, NUL bytes and absolute paths cannot reach the
disk. They are still refused here, so a key that would mean "outside the root" never exists.
"""

from __future__ import annotations

import re
from typing import Literal
from urllib.parse import unquote

__all__ = ["Case", "file_key", "normalize_prefix", "request_key", "template_target"]

Case = Literal["sensitive", "insensitive"]

_TEMPLATE = re.compile(r"\.tmpl(\.[^./]+)$")
_FORBIDDEN_CHARS = ("\x00", "\\")


def normalize_prefix(prefix: str) -> str:
    """The URL prefix with exactly one leading and one trailing slash.

    Example:
        >>> normalize_prefix("assets"), normalize_prefix("/"), normalize_prefix("//a//b/")
        ('/assets/', '/', '/a/b/')
    """
    parts = [part for part in prefix.split("/") if part]
    return "/" + "".join(part + "/" for part in parts)


def file_key(relative: str, case: Case = "sensitive") -> str:
    """The key of a file from its path relative to the root (``/``-separated).

    Example:
        >>> file_key("css/App.css"), file_key("css/App.css", "insensitive")
        ('css/App.css', 'css/app.css')
    """
    key = "/".join(part for part in relative.split("/") if part)
    return key.lower() if case == "insensitive" else key


def request_key(raw_path: str, prefix: str, case: Case = "sensitive") -> str | None:
    """The key a request path asks for, or None when it can name no file.

    ``raw_path`` is the path as sent (percent-encoded, maybe with a query); ``prefix`` comes
    from ``normalize_prefix``. The query and fragment are dropped, the path is URL-decoded once,
    repeated and trailing slashes collapse; ``.``/``..`` segments, backslashes, NUL bytes and
    undecodable bytes make it None (the caller answers 404).

    Example:
        >>> request_key("/static//css/app.css?v=123", "/static/")
        'css/app.css'
        >>> request_key("/static/%2e%2e/secret.txt", "/static/") is None
        True
    """
    path = raw_path.split("?", 1)[0].split("#", 1)[0]
    if "%" in path:
        try:
            path = unquote(path, errors="strict")
        except UnicodeDecodeError:
            return None
    if any(char in path for char in _FORBIDDEN_CHARS):
        return None
    bare = prefix.rstrip("/")
    if path == bare:
        path = ""
    elif path.startswith(prefix):
        path = path[len(prefix) :]
    else:
        return None
    parts = [part for part in path.split("/") if part]
    if any(part in (".", "..") for part in parts):
        return None
    key = "/".join(parts)
    return key.lower() if case == "insensitive" else key


def template_target(relative: str) -> str | None:
    """The name a ``*.tmpl.*`` file is served under, or None for a plain file.

    Example:
        >>> template_target("index.tmpl.html"), template_target("app.css")
        ('index.html', None)
    """
    if _TEMPLATE.search(relative) is None:
        return None
    return _TEMPLATE.sub(r"\1", relative)
