"""examples/be-true-port: @be-true's microservices example (gate, game, chat) as three processes and as one."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from betrue.server import Application
from betrue.server.testing import TestApp

PORT_DIR = Path(__file__).resolve().parents[3] / "examples" / "be-true-port"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def make_single(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.syspath_prepend(str(PORT_DIR))  # the example's modules import each other as scripts do
    for name in ("single", "game", "chat"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    from single import make_single  # type: ignore[import-not-found]

    yield make_single
    for name in ("single", "game", "chat"):
        sys.modules.pop(name, None)


async def post(session: aiohttp.ClientSession, url: str, params: Any) -> tuple[int, dict[str, Any]]:
    async with session.post(url, json=params) as reply:
        return reply.status, await reply.json()


async def until_answered(session: aiohttp.ClientSession, url: str, params: Any) -> tuple[int, dict[str, Any]]:
    """Three Python processes start in any order on a busy machine: ask until the gate has found the upstream."""
    async with asyncio.timeout(90):
        while True:
            try:
                answer = await post(session, url, params)
                if answer[0] < 500:  # 503 until the upstreams are up and found
                    return answer
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(0.3)


async def test_three_processes_behind_the_gate_answer_as_one_process_does(make_single: Any) -> None:
    chat_port, game_port, gate_port = free_port(), free_port(), free_port()
    quiet = {**os.environ, "LOG_LEVEL": "WARNING", "LOG_CALLS": "off"}
    environs = {
        "chat.py": {"HTTP_PORT": str(chat_port)},
        "game.py": {"HTTP_PORT": str(game_port), "ROUTES": f"chat=http://127.0.0.1:{chat_port}"},
        "gate.py": {
            "HTTP_PORT": str(gate_port),
            "GAME_URL": f"http://127.0.0.1:{game_port}",
            "CHAT_URL": f"http://127.0.0.1:{chat_port}",
        },
    }
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable, str(PORT_DIR / script), cwd=PORT_DIR, env={**quiet, **environ}
        )
        for script, environ in environs.items()
    ]
    gate = f"http://127.0.0.1:{gate_port}"
    try:
        async with aiohttp.ClientSession() as session:
            status, loaded = await until_answered(session, f"{gate}/api/load", {"player": "ann"})
            _, listed = await until_answered(session, f"{gate}/api/chat/list", {"room": "lobby"})
            bad_status, bad = await post(session, f"{gate}/api/load", {"player": ""})
            async with session.get(f"{gate}/_app/ready") as ready:
                ready_status = ready.status
    finally:
        for process in processes:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(30):
            codes = [await process.wait() for process in processes]
    async with TestApp(make_single(env_file=None, environ={})) as single:
        alone = await single.call("game/load", {"player": "ann"})
        tested = await single.call("test")
    lobby = [{"id": 1, "room": "lobby", "text": "ann joined"}]
    assert (status, loaded["result"]) == (200, {"player": "ann", "level": 1, "lobby": lobby})
    assert alone.get("result") == loaded["result"], alone  # the same command code, one process
    assert listed["result"] == loaded["result"]["lobby"]
    assert (bad_status, bad["error"]["details"][0]["keyword"], bad["error"]["details"][0]["path"]) == (
        400,
        "minLength",
        "/player",
    )
    assert ready_status == 200
    assert tested["result"] == {"ok": True}
    assert codes == [0, 0, 0]  # each stopped gracefully on SIGTERM


def test_the_gate_publishes_game_load_as_load() -> None:
    sys.path.insert(0, str(PORT_DIR))
    try:
        from gate import make_gate  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(PORT_DIR))
    gate: Application = make_gate("http://127.0.0.1:9", "http://127.0.0.1:9")
    assert "load" in gate.commands
    assert "game/load" not in gate.commands
