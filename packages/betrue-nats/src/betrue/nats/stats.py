"""Counts and latencies per NATS subject, kept by the adapter and the transport (``/metrics`` reads them too)."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["MAX_SUBJECTS", "OTHER", "SubjectStats", "SubjectTable"]

MAX_SUBJECTS = 1024
"""Subjects counted one by one; calls on further subjects are counted together under ``OTHER``."""
OTHER = "(other)"


@dataclass(slots=True)
class SubjectStats:
    """One subject's calls: how many, how many failed (code ≥ 500) or were refused, total and worst seconds."""

    calls: int = 0
    errors: int = 0
    seconds: float = 0.0
    slowest: float = 0.0

    def add(self, seconds: float, code: int) -> None:
        self.calls += 1
        self.seconds += seconds
        if seconds > self.slowest:
            self.slowest = seconds
        if code >= 500:
            self.errors += 1

    @property
    def mean(self) -> float:
        return self.seconds / self.calls if self.calls else 0.0


@dataclass(slots=True)
class SubjectTable:
    """``SubjectStats`` by subject, plus what was refused before running (late, busy, malformed).

    Example:
        >>> table = SubjectTable()
        >>> table.add("betrue.cmd.chat.chat.send", 0.002, 200)
        >>> table.subjects["betrue.cmd.chat.chat.send"].calls
        1
    """

    subjects: dict[str, SubjectStats] = field(default_factory=dict)
    expired: int = 0
    """Calls that arrived after their caller's deadline and were not run (ghost executions prevented)."""
    busy: int = 0
    """Calls refused with 503 because ``NATS_MAX_INFLIGHT`` calls were running."""
    dropped: int = 0
    """Calls nats-py dropped because ``NATS_PENDING_MESSAGES`` were waiting (slow consumer): their callers get 504."""
    no_reply: int = 0
    """Messages on a command subject without a reply subject (published, not requested): ignored."""

    def add(self, subject: str, seconds: float, code: int) -> None:
        stats = self.subjects.get(subject)
        if stats is None:
            if len(self.subjects) >= MAX_SUBJECTS:  # subjects come from callers (unknown codes too): bounded
                subject = OTHER
                stats = self.subjects.get(subject)
            if stats is None:
                stats = self.subjects[subject] = SubjectStats()
        stats.add(seconds, code)
