"""The NATS subjects betrue uses: commands, events and discovery, all under one prefix."""

from __future__ import annotations

import re

__all__ = [
    "app_token",
    "code_from_subject",
    "command_subject",
    "commands_wildcard",
    "discovery_subject",
    "event_subject",
    "events_wildcard",
    "queue_group",
]

_TOKEN = re.compile(r"^[A-Za-z0-9_\-]+$")


def app_token(app: str) -> str:
    """``app`` as one subject token; raises ValueError for a name NATS cannot carry in one token."""
    if not _TOKEN.fullmatch(app):
        raise ValueError(f"app name {app!r} cannot be a NATS subject token: use letters, digits, _ and -")
    return app


def command_subject(prefix: str, app: str, code: str) -> str:
    """Where ``code`` of ``app`` is served.

    Example:
        >>> command_subject("betrue", "chat", "chat/send")
        'betrue.cmd.chat.chat.send'
    """
    return f"{prefix}.cmd.{app}.{code.replace('/', '.')}"


def commands_wildcard(prefix: str, app: str) -> str:
    """The subscription that receives every command of ``app``: ``<prefix>.cmd.<app>.>``."""
    return f"{prefix}.cmd.{app}.>"


def code_from_subject(prefix: str, app: str, subject: str) -> str:
    """The command code a request subject names (``betrue.cmd.chat.chat.send`` → ``chat/send``)."""
    head = f"{prefix}.cmd.{app}."
    return subject[len(head) :].replace(".", "/") if subject.startswith(head) else ""


def queue_group(prefix: str, app: str) -> str:
    """The queue group of ``app``'s instances: each call goes to one of them."""
    return f"{prefix}.{app}"


def event_subject(prefix: str, name: str) -> str:
    """``<prefix>.evt.<event>`` (event names are dot-separated tokens already)."""
    return f"{prefix}.evt.{name}"


def events_wildcard(prefix: str, pattern: str = ">") -> str:
    """The subscription for an event pattern (``chat.*``, ``>``)."""
    return f"{prefix}.evt.{pattern}"


def discovery_subject(prefix: str, kind: str) -> str:
    """``<prefix>.discovery.<kind>``: ``announce`` (an app is up), ``bye`` (it stops), ``query`` (who is there?)."""
    return f"{prefix}.discovery.{kind}"
