"""The attacker's tools: raw HTTP exchanges, answer classes, and the tally behind `make test-reliability`.

Every case records what it tried and what came back under a case family; at the end of the session the
tally is written as JSON when ``BETRUE_RELIABILITY_REPORT`` names a file (tools/reliability_table.py
prints it). The goal in every row: no 5xx, nothing hung, nothing lost, no read outside a served root.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CLASSES = ("2xx", "4xx", "5xx", "unavailable", "closed", "hung")
"""Answer classes. ``unavailable`` is a 502/503/504 envelope that is the right answer: an upstream fault was
injected, the server is stopping (503, ``Connection: close``);
``5xx`` is every other 5xx: a failure, the goal is none. ``closed`` is a connection closed with no answer
where closing is the protocol's answer (a WebSocket close frame, a silent connection cut at its idle
timeout); ``hung`` is no answer within the deadline."""


@dataclass
class Row:
    inputs: int = 0
    answers: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CLASSES, 0))
    lost: int = 0
    outside_roots: int = 0
    apps: set[str] = field(default_factory=set)


class Tally:
    """Answers by case family, shared by every test of the session."""

    def __init__(self) -> None:
        self.rows: dict[str, Row] = defaultdict(Row)

    def record(self, family: str, app: str, answer: str, *, lost: int = 0, outside_roots: int = 0) -> None:
        if answer not in CLASSES:
            raise ValueError(f"unknown answer class {answer!r}")
        row = self.rows[family]
        row.inputs += 1
        row.answers[answer] += 1
        row.lost += lost
        row.outside_roots += outside_roots
        row.apps.add(app)

    def lost(self, family: str, app: str, count: int) -> None:
        self.rows[family].lost += count
        self.rows[family].apps.add(app)

    def to_json(self) -> dict[str, Any]:
        return {
            family: {
                "inputs": row.inputs,
                "answers": row.answers,
                "lost": row.lost,
                "outside_roots": row.outside_roots,
                "apps": sorted(row.apps),
            }
            for family, row in sorted(self.rows.items())
        }

    def write(self, path: Path) -> None:
        merged = json.loads(path.read_text()) if path.exists() else {}
        merged.update(self.to_json())
        path.write_text(json.dumps(merged, indent=2) + "\n")


TALLY = Tally()


def status_class(status: int | None) -> str:
    if status is None:
        return "closed"
    if 200 <= status < 300:
        return "2xx"
    if 400 <= status < 500:
        return "4xx"
    return "5xx"


@dataclass
class Exchange:
    """What came back for raw bytes written to a server."""

    raw: bytes
    hung: bool

    @property
    def statuses(self) -> list[int]:
        return [int(status) for status in re.findall(rb"HTTP/1\.[01] (\d{3}) ", self.raw)]

    @property
    def answer(self) -> str:
        """The class of the worst answer: hung, then 5xx, then the first status's class, else closed."""
        if self.hung:
            return "hung"
        statuses = [status for status in self.statuses if status != 100]
        if any(status >= 500 for status in statuses):
            return "5xx"
        return status_class(statuses[0]) if statuses else "closed"


async def exchange(host: str, port: int, data: bytes, *, wait: float = 15.0, pause: float = 0.0) -> Exchange:
    """Write ``data`` (``pause`` seconds apart per 64-byte piece when set) while reading what comes back,
    until the server closes, or an answer came and the connection then stayed quiet for a moment."""
    reader, writer = await asyncio.open_connection(host, port)
    received = bytearray()

    async def read() -> bool:
        """True when nothing was answered within ``wait``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        try:
            while True:
                left = deadline - loop.time()
                patience = min(left, 0.5) if b"HTTP/1." in received else left
                if patience <= 0:
                    raise TimeoutError
                chunk = await asyncio.wait_for(reader.read(65536), patience)
                if not chunk:
                    return False
                received.extend(chunk)
        except TimeoutError:
            return b"HTTP/1." not in received
        except ConnectionError:
            return False

    reading = asyncio.create_task(read())
    try:
        if pause:
            for start in range(0, len(data), 64):
                if reading.done():
                    break
                writer.write(data[start : start + 64])
                await asyncio.sleep(pause)
        else:
            writer.write(data)
        hung = await reading
    except ConnectionError:
        hung = await reading
    finally:
        writer.close()
    return Exchange(bytes(received), hung)


def request(
    path: str, body: bytes = b"", *headers: str, method: str = "POST", host: str = "127.0.0.1", close: bool = True
) -> bytes:
    """A raw HTTP/1.1 request; it asks the server to close after answering unless ``close`` is False."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", *headers]
    if close:
        lines.append("Connection: close")
    if body or method == "POST":
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body
