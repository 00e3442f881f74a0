"""examples/gateway: three processes behind a gateway, stopped by Ctrl-C; the same code as one process."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from betrue.server.testing import TestApp
from examples.gateway.monolith import make_app as make_monolith

ROOT = Path(__file__).resolve().parents[3]


async def post(session: aiohttp.ClientSession, url: str, params: Any) -> tuple[int, dict[str, Any]]:
    async with session.post(url, json=params) as reply:
        return reply.status, await reply.json()


async def test_run_py_serves_game_and_chat_through_the_gateway_and_stops_on_ctrl_c() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(ROOT / "examples" / "gateway" / "run.py"),
        "--free-ports",
        cwd=ROOT,
        env={**os.environ, "LOG_PRETTY": "false", "LOG_LEVEL": "WARNING"},
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    try:
        async with asyncio.timeout(90):  # three Python processes start on a busy 2-core machine
            line = (await process.stdout.readline()).decode()
        assert line.startswith("gateway ready on "), line
        url = line.removeprefix("gateway ready on ").strip()
        async with aiohttp.ClientSession() as session:
            status, loaded = await post(session, f"{url}/api/game/load", {"player": "ann"})
            bad_status, bad = await post(session, f"{url}/api/game/load", {"player": ""})
            _, listed = await post(session, f"{url}/api/_app/commands", {})
        async with TestApp(make_monolith(env_file=None)) as monolith:
            alone = await monolith.call("game/load", {"player": "ann"})
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGINT)  # what Ctrl-C sends to run.py
        async with asyncio.timeout(30):
            code = await process.wait()
    assert status == 200
    assert loaded["result"] == {
        "player": "ann",
        "level": 1,
        "lobby": [{"id": 1, "room": "lobby", "text": "ann joined"}],
    }
    assert alone["result"] == loaded["result"]  # the same command code as one process
    assert bad_status == 400
    assert bad["status"] == "ValidationError"
    codes = {command["code"] for command in listed["result"]["commands"]}
    assert codes == {"game/load", "chat/post", "chat/history"}
    assert code == 0  # every app stopped gracefully
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.ClientConnectorError):
            await post(session, f"{url}/api/_app/health", {})
