"""``serve_forever``: SIGTERM stops an app gracefully; a second signal stops waiting for calls in flight."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time

SCRIPT = """
import asyncio, sys
from betrue.server import Application, Group

slow = Group("slow")

@slow.command("hold")
async def hold(params, ctx):
    await asyncio.sleep(60)
    return "late"

app = Application("signals", groups=[slow], http=False, env_file=None)

async def main():
    async def announce():
        while not app.started:
            await asyncio.sleep(0.01)
        if "--busy" in sys.argv:
            asyncio.ensure_future(app.handle("slow/hold", {}))
            await asyncio.sleep(0.05)
        print("ready", flush=True)

    asyncio.ensure_future(announce())
    await app.serve_forever()
    print("stopped", flush=True)

asyncio.run(main())
"""


async def _run(*args: str, signals: int) -> tuple[int, str, float]:
    env = {**os.environ, "SHUTDOWN_TIMEOUT": "60", "LOG_LEVEL": "WARNING"}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", SCRIPT, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env
    )
    assert process.stdout is not None
    try:
        line = await asyncio.wait_for(process.stdout.readline(), 60)
        assert line.decode().strip() == "ready"
        began = time.monotonic()
        for _ in range(signals):
            process.send_signal(signal.SIGTERM)
            await asyncio.sleep(0.3)
        out, _ = await asyncio.wait_for(process.communicate(), 60)
        return process.returncode or 0, out.decode(), time.monotonic() - began
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def test_sigterm_stops_an_idle_app_gracefully() -> None:
    code, out, _ = await _run(signals=1)
    assert code == 0
    assert out.strip() == "stopped"


async def test_a_second_signal_ends_the_wait_for_calls_in_flight() -> None:
    code, out, took = await _run("--busy", signals=2)
    assert code == 0
    assert out.strip() == "stopped"
    assert took < 30  # not the 60 s of SHUTDOWN_TIMEOUT the call in flight would have had
