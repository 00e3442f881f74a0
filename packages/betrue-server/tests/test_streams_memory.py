"""An upload far larger than memory headroom: the server process's peak RSS barely moves (measured, not assumed)."""

from __future__ import annotations

import asyncio
import sys
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp

MiB = 1024 * 1024
BOUNDARY = "betrue-memory-test"

SERVER = textwrap.dedent(
    """
    import asyncio
    from betrue.server import Application, Group
    from betrue.server.streams import StreamSpec

    files = Group("files")

    @files.command("count", stream=StreamSpec(max_size=300 * 1024 * 1024), auth="public")
    async def count(params, ctx):
        total = 0
        async for file in params.files():
            async for chunk in file:
                total += len(chunk)
        return {"size": total}

    app = Application("memory", groups=[files], environ={"HTTP_PORT": "0", "LOG_CALLS": "off"}, env_file=None)

    async def main():
        await app.start()
        print(app.service("http").url, flush=True)
        await asyncio.Event().wait()

    asyncio.run(main())
    """
)


def peak_rss(pid: int) -> int:
    """The process's resident set high-water mark (VmHWM), in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM in /proc/<pid>/status")


async def multipart(size: int) -> AsyncIterator[bytes]:
    yield (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    block = b"\x5a" * MiB
    for _ in range(size // MiB):
        yield block
    yield f"\r\n--{BOUNDARY}--\r\n".encode()


async def upload(url: str, size: int) -> dict[str, object]:
    headers = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{url}/api/files/count", data=multipart(size), headers=headers) as reply,
    ):
        envelope: dict[str, object] = await reply.json()
        return envelope


async def growth_of_peak_memory(tmp_path: Path, size: int) -> int:
    script = tmp_path / "server.py"
    script.write_text(SERVER)
    process = await asyncio.create_subprocess_exec(sys.executable, str(script), stdout=asyncio.subprocess.PIPE)
    try:
        assert process.stdout is not None
        async with asyncio.timeout(30):
            url = (await process.stdout.readline()).decode().strip()
        assert url.startswith("http://"), url
        assert (await upload(url, 4 * MiB))["result"] == {"size": 4 * MiB}  # warm: every code path has run once
        before = peak_rss(process.pid)
        assert (await upload(url, size))["result"] == {"size": size}
        return peak_rss(process.pid) - before
    finally:
        process.kill()
        await process.wait()


async def test_a_200_mib_upload_leaves_peak_memory_nearly_flat(tmp_path: Path) -> None:
    # About 5 s here (the limit for the default suite is 20 s), so it is not marked slow.
    assert await growth_of_peak_memory(tmp_path, 200 * MiB) < 20 * MiB
