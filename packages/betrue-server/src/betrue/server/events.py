"""Events: the EventBus interface and its in-process implementation (the embedded default)."""

from __future__ import annotations

import asyncio
import re
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from loguru import logger

_EVENT_NAME = re.compile(r"[A-Za-z0-9_\-]+(\.[A-Za-z0-9_\-]+)*")

__all__ = ["Event", "EventBus", "EventCallback", "MemoryEventBus", "Subscription", "matches", "name_matches"]


@dataclass(slots=True, frozen=True)
class Event:
    """One published event; JSON-able so any bus can carry it.

    ``to`` selects receivers by connection attributes (``{"room": "r1"}``; a list value means any of);
    ``meta`` carries trace context (``traceparent``) and the emitter's identity.
    """

    name: str
    data: Any = None
    to: Mapping[str, Any] | None = None
    meta: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # A wildcard in a published name would match subscriptions it was never meant for (and NATS refuses it).
        if not _EVENT_NAME.fullmatch(self.name):
            raise ValueError(
                f"event name {self.name!r}: dot-separated tokens of letters, digits, _ and - (no wildcards)"
            )

    def to_dict(self) -> dict[str, Any]:
        return {
            "event": self.name,
            "data": self.data,
            "to": dict(self.to) if self.to else None,
            "meta": dict(self.meta),
        }

    @classmethod
    def from_dict(cls, body: Mapping[str, Any]) -> Event:
        return cls(str(body["event"]), body.get("data"), body.get("to"), body.get("meta") or {})


EventCallback = Callable[[Event], Awaitable[None]]


def name_matches(pattern: str, name: str) -> bool:
    """NATS-style subject match: ``*`` is one dot-separated token, ``>`` the rest (``chat.>``)."""
    if pattern == name or pattern == ">":
        return True
    want, have = pattern.split("."), name.split(".")
    for index, token in enumerate(want):
        if token == ">":
            return len(have) > index
        if index >= len(have) or (token != "*" and token != have[index]):
            return False
    return len(want) == len(have)


def matches(to: Mapping[str, Any] | None, attributes: Mapping[str, Any]) -> bool:
    """Does a receiver with ``attributes`` match the filter ``to``? Every key must match.

    A filter value matches an equal attribute value, or membership when either side is a
    collection (a connection in rooms {"r1", "r2"} matches ``{"room": "r1"}`` via its ``rooms``).

    Example:
        >>> matches({"room": "r1"}, {"rooms": {"r1", "r2"}, "user": "ann"})
        True
        >>> matches({"user": ["bob", "ann"], "room": "r3"}, {"rooms": {"r1"}, "user": "ann"})
        False
    """
    if not to:
        return True
    for key, wanted in to.items():
        have = attributes.get(key, attributes.get(key + "s"))
        if have is None:
            return False
        wanted_set = set(wanted) if isinstance(wanted, list | tuple | set | frozenset) else {wanted}
        have_set = set(have) if isinstance(have, list | tuple | set | frozenset) else {have}
        if wanted_set.isdisjoint(have_set):
            return False
    return True


class Subscription:
    """A handle returned by ``EventBus.subscribe``; ``unsubscribe()`` stops delivery."""

    __slots__ = ("_cancel", "pattern")

    def __init__(self, pattern: str, cancel: Callable[[], None]) -> None:
        self.pattern = pattern
        self._cancel = cancel

    def unsubscribe(self) -> None:
        self._cancel()


class EventBus(ABC):
    """Carries events between emitters and subscribers. At-most-once: what must arrive is a job."""

    @abstractmethod
    async def publish(self, event: Event) -> None:
        """Deliver to every current subscriber whose pattern matches; never raises for a subscriber."""

    @abstractmethod
    def subscribe(self, pattern: str, callback: EventCallback) -> Subscription:
        """Call ``callback(event)`` for each event whose name matches ``pattern``."""

    async def start(self) -> EventBus:
        return self

    async def stop(self) -> None:
        return None


class MemoryEventBus(EventBus):
    """In-process bus: each delivery runs as its own task, so a slow or failing subscriber never
    holds up the emitter or the other subscribers. ``stop()`` waits for deliveries in flight."""

    def __init__(self, drain_timeout: float = 5.0) -> None:
        self._subscribers: list[tuple[str, EventCallback]] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._drain_timeout = drain_timeout

    def subscribe(self, pattern: str, callback: EventCallback) -> Subscription:
        entry = (pattern, callback)
        self._subscribers.append(entry)
        return Subscription(pattern, lambda: self._subscribers.remove(entry) if entry in self._subscribers else None)

    async def publish(self, event: Event) -> None:
        for pattern, callback in list(self._subscribers):
            if name_matches(pattern, event.name):
                task = asyncio.create_task(self._deliver(callback, event))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def _deliver(self, callback: EventCallback, event: Event) -> None:
        try:
            await callback(event)
        except Exception:
            logger.opt(exception=True).error("subscriber of event {} failed", event.name)

    async def stop(self) -> None:
        """Wait up to ``drain_timeout`` seconds for deliveries in flight, then cancel the rest."""
        if self._tasks:
            _, late = await asyncio.wait(list(self._tasks), timeout=self._drain_timeout)
            if late:
                logger.warning("{} event deliveries still running after {}s; cancelled", len(late), self._drain_timeout)
                for task in late:
                    task.cancel()
                await asyncio.wait(late)
