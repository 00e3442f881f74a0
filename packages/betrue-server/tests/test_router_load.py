"""Many calls at once through one router: every one answered, counted, its scope stopped, its trace its own."""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

from betrue.server import Application, Context, Group, NotFound, Service
from betrue.server.testing import TestApp

CALLS = 300


class Unit(Service):
    """A request-scoped service: built per call, stopped when the call ends."""

    name = "unit"
    scope = "request"
    built: ClassVar[int] = 0
    stopped: ClassVar[int] = 0

    async def start(self) -> None:
        Unit.built += 1

    async def stop(self) -> None:
        Unit.stopped += 1


def _app() -> Application:
    work = Group("work")

    @work.command("do", input={"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]})
    async def do(params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        await ctx.service(Unit)
        await asyncio.sleep(0.001 * (params["n"] % 5))
        if params["n"] % 7 == 0:
            raise NotFound(f"no {params['n']}")
        if params["n"] % 11 == 0:
            raise RuntimeError("a bug")
        return {"n": params["n"], "trace_id": ctx.trace_id}

    app = Application("load", groups=[work], http=False, env_file=None)
    app.add_service(Unit)
    return app


async def test_concurrent_calls_are_each_answered_and_leave_nothing_behind() -> None:
    Unit.built = Unit.stopped = 0
    app = _app()
    async with TestApp(app):
        calls = [app.handle("work/do", {"n": n}, {"x-trace-id": f"t-{n}"}) for n in range(1, CALLS + 1)]
        calls += [app.handle("work/do", {"n": "x"}), app.handle("work/none", {})]
        responses = await asyncio.gather(*calls)
        assert app.router.inflight == 0
    by_code: dict[int, int] = {}
    for response in responses:
        by_code[response.code] = by_code.get(response.code, 0) + 1
    sevens = CALLS // 7
    elevens = CALLS // 11 - CALLS // 77
    assert by_code == {200: CALLS - sevens - elevens, 404: sevens + 1, 500: elevens, 400: 1}
    for n, response in enumerate(responses[:CALLS], start=1):
        assert response.trace_id == f"t-{n}"
        if response.code == 200:
            assert response.result == {"n": n, "trace_id": f"t-{n}"}
    assert Unit.built == CALLS  # the 400 and the 404 of an unknown command never reached the handler
    assert Unit.stopped == CALLS


async def test_a_stop_during_a_burst_finishes_what_started_and_refuses_the_rest() -> None:
    app = _app()
    await app.start(serve=False)
    first = [asyncio.ensure_future(app.handle("work/do", {"n": n})) for n in range(1, 51)]
    await asyncio.sleep(0)
    stopping = asyncio.ensure_future(app.stop(timeout=30))
    await asyncio.sleep(0)
    late = await app.handle("work/do", {"n": 1})
    done = await asyncio.gather(*first)
    await stopping
    assert late.code == 503
    assert all(response.code != 503 for response in done)
    assert app.router.inflight == 0
