"""Event declarations: the events an app emits, with their data schema and who receives them.

Declaring is optional (``ctx.emit`` works for any name); a declared event is documented in the
AsyncAPI document (``betrue.server.docs._asyncapi``) as a WebSocket push and, with NATS, a subject.
Declarations hang on the Application or on a Group (kept in a weak map, so neither class has to
know about them); ``declared_events(app)`` gathers both.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from betrue.server.commands import Group
from betrue.server.types import Schema

if TYPE_CHECKING:
    from betrue.server.application import Application

__all__ = ["EventDeclaration", "declare_event", "declared_events"]

_NAME = re.compile(r"^[A-Za-z0-9_\-]+(\.[A-Za-z0-9_\-]+)*$")
_DECLARED: weakref.WeakKeyDictionary[Any, dict[str, EventDeclaration]] = weakref.WeakKeyDictionary()


@dataclass(frozen=True, slots=True)
class EventDeclaration:
    """One declared event: ``name`` (dot-separated, e.g. ``chat.message``), the schema of its
    ``data``, a description, and the connection attributes its ``to`` filter selects by."""

    name: str
    schema: Schema = None
    description: str = ""
    to: tuple[str, ...] = ()
    """Attribute names a publisher filters receivers by (``("room",)`` for ``to={"room": "r1"}``)."""
    group: str = ""


def declare_event(
    owner: Application | Group,
    name: str,
    *,
    schema: Schema = None,
    description: str = "",
    to: Sequence[str] = (),
) -> EventDeclaration:
    """Declare an event ``owner`` (an Application or a Group) emits; returns the declaration.

    Raises ValueError for a name with wildcards or empty tokens, or one declared twice on ``owner``.

    Example:
        >>> from betrue.server import Group
        >>> chat = Group("chat")
        >>> declare_event(chat, "chat.message", schema={"type": "object"}, description="A new message",
        ...               to=["room"]).to
        ('room',)
    """
    if not _NAME.match(name):
        raise ValueError(f"event name {name!r} must be dot-separated tokens of letters, digits, _ and - (no wildcards)")
    declared = _DECLARED.setdefault(owner, {})
    if name in declared:
        raise ValueError(f"event {name!r} is declared twice")
    group = owner.name if isinstance(owner, Group) else ""
    declaration = EventDeclaration(name, schema, description, tuple(to), group)
    declared[name] = declaration
    return declaration


def declared_events(app: Application) -> list[EventDeclaration]:
    """Every event declared on ``app`` and on its groups, sorted by name.

    Raises ValueError when two places declare the same event differently.
    """
    found: dict[str, EventDeclaration] = {}
    for owner in [app, *app.groups.values()]:
        for name, declaration in _DECLARED.get(owner, {}).items():
            other = found.get(name)
            if other is not None and (other.schema, other.to) != (declaration.schema, declaration.to):
                where = other.group or "the app"
                raise ValueError(
                    f"event {name!r} is declared differently by {where} and {declaration.group or 'the app'}"
                )
            found.setdefault(name, declaration)
    return [found[name] for name in sorted(found)]
