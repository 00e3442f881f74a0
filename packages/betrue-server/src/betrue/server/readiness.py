"""Readiness: what a service answers to "can you take work now?" (``GET /_app/ready`` asks every one)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

__all__ = ["Readiness", "ReportsReadiness"]


@dataclass(frozen=True, slots=True)
class Readiness:
    """A service's answer to "can you take work now?" (``/_app/ready`` asks every service that reports one)."""

    ready: bool
    detail: str = ""


@runtime_checkable
class ReportsReadiness(Protocol):
    """A service that can say whether it is ready (a database pool, a NATS connection)."""

    def readiness(self) -> Readiness: ...
