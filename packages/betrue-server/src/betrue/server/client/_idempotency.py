"""Which commands may be repeated: what the caller knows, and what it asks a target when it must."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING

from betrue.server.context import new_trace_id
from betrue.server.errors import BetrueError
from betrue.server.gateway._proxy import describe_upstream

if TYPE_CHECKING:
    from betrue.server.client._calls import Call
    from betrue.server.client._resilience import Policy
    from betrue.server.commands import Command

__all__ = ["Idempotency"]

CATALOGUE_TTL = 60.0
"""Seconds a target's answer about its commands is kept."""
CATALOGUE_TIMEOUT = 1.0


class Idempotency:
    """Answers "may this call be repeated?": the call says, else its group's policy, else the command
    (local, or learnt from a target's ``_app/commands``); unknown means no.

    Example:
        >>> knowledge = Idempotency({})
        >>> knowledge.known["chat/history"] = True   # what a gateway's discovery records
        >>> from betrue.server.client._resilience import Policy
        >>> knowledge.of("chat/history", Policy(), None)
        True
    """

    def __init__(self, commands: Mapping[str, Command]) -> None:
        self.commands = commands
        self.known: dict[str, bool] = {}
        """What other apps said about their commands (discovery and ``learn`` fill it)."""
        self._asked: dict[str, float] = {}

    def of(self, code: str, policy: Policy, asked: bool | None) -> bool | None:
        """What is known before the call: True, False, or None (ask the target after a failure)."""
        if asked is not None:
            return asked
        if policy.idempotent is not None:
            return policy.idempotent
        command = self.commands.get(code)
        if command is not None:
            return command.idempotent
        return self.known.get(code)

    async def learn(self, call: Call) -> bool:
        """Whether the call's target marks ``call.code`` idempotent, from its ``_app/commands``.

        Asked only after a failure (the retry stage), at most once a minute per target, within the call's
        deadline; an unreachable target teaches nothing, and unknown stays "no".
        """
        target = call.transport.target
        if time.monotonic() - self._asked.get(target, -CATALOGUE_TTL) >= CATALOGUE_TTL:
            remaining = call.deadline - time.time() if call.deadline is not None else CATALOGUE_TIMEOUT
            meta = {"x-trace-id": call.meta.get("x-trace-id") or new_trace_id()}
            try:
                envelope = await call.transport.call(
                    "_app/commands", {}, meta, time.time() + min(CATALOGUE_TIMEOUT, remaining)
                )
                listed = describe_upstream(envelope.get("result"))
            except BetrueError:
                return self.known.get(call.code, False)
            for description in listed:
                self.known[description["code"]] = description.get("idempotent") is True
            self._asked[target] = time.monotonic()
        return self.known.get(call.code, False)
