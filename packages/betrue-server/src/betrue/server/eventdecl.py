"""Event declarations: the events an app emits, with their data schema and who receives them.

Declaring is optional (``ctx.emit`` works for any name); a declared event is documented in the
AsyncAPI document (``betrue.server.docs._asyncapi``) as a WebSocket push and, with NATS, a subject.
Declarations hang on the Application or on a Group (kept in a weak map, so neither class has to
know about them); ``declared_events(app)`` gathers both.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from betrue.server.commands import Group
from betrue.server.types import Schema

if TYPE_CHECKING:
    from betrue.server.application import Application

__all__ = ["EventDeclaration", "check_declarations", "declare_event", "declared_events"]

_NAME = re.compile(r"^[A-Za-z0-9_\-]+(\.[A-Za-z0-9_\-]+)*$")


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

    Raises ValueError for a name with wildcards or empty tokens, one declared twice on ``owner``, or one
    the application (or a group it includes) already declares differently, naming both.

    Example:
        >>> from betrue.server import Group
        >>> chat = Group("chat")
        >>> declare_event(chat, "chat.message", schema={"type": "object"}, description="A new message",
        ...               to=["room"]).to
        ('room',)
    """
    if not _NAME.match(name):
        raise ValueError(f"event name {name!r} must be dot-separated tokens of letters, digits, _ and - (no wildcards)")
    declared = owner.declarations if isinstance(owner, Group) else owner.router.declarations
    if name in declared:
        raise ValueError(f"event {name!r} is declared twice by {_owner(declared[name])}")
    group = owner.name if isinstance(owner, Group) else ""
    declaration = EventDeclaration(name, schema, description, tuple(to), group)
    if not isinstance(owner, Group):
        declared_events(owner, adding=[declaration])  # fails now when an included group declares it differently
    declared[name] = declaration
    return declaration


def _owner(declaration: EventDeclaration) -> str:
    return f"group {declaration.group!r}" if declaration.group else "the app"


def check_declarations(known: Iterable[EventDeclaration], adding: Iterable[EventDeclaration]) -> None:
    """Raise ValueError when an event of ``adding`` is declared differently in ``known``, naming both owners."""
    by_name = {declaration.name: declaration for declaration in known}
    for declaration in adding:
        other = by_name.get(declaration.name)
        if other is not None and (other.schema, other.to) != (declaration.schema, declaration.to):
            raise ValueError(
                f"event {declaration.name!r} is declared differently by {_owner(other)} and {_owner(declaration)}"
            )


def declared_events(app: Application, *, adding: Sequence[EventDeclaration] = ()) -> list[EventDeclaration]:
    """Every event declared on ``app`` and on its groups, sorted by name.

    Raises ValueError when two places declare the same event differently (``Application.include`` checks
    this for each group it adds, so it fails where the app is defined).
    """
    found: dict[str, EventDeclaration] = {}
    owners = [app.router.declarations, *(group.declarations for group in app.groups.values())]
    for declarations in [*(list(owner.values()) for owner in owners), list(adding)]:
        check_declarations(found.values(), declarations)
        for declaration in declarations:
            found.setdefault(declaration.name, declaration)
    return [found[name] for name in sorted(found)]
