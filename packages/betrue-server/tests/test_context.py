"""Context: trace ids from meta, identity, the lazily bound logger, deadlines and services."""

from __future__ import annotations

import time
from typing import Any

import pytest

from betrue.server import Application, Context, GatewayTimeout, Group, Identity
from betrue.server.context import trace_id_from
from betrue.server.testing import TestApp


@pytest.mark.parametrize(
    ("meta", "expected"),
    [
        ({"x-trace-id": "abc-123:x.y_z"}, "abc-123:x.y_z"),
        (
            {"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
            "4bf92f3577b34da6a3ce929d0e0e4736",
        ),
        ({"x-trace-id": "a", "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}, "a"),
    ],
)
def test_trace_ids_come_from_the_caller(meta: dict[str, str], expected: str) -> None:
    assert trace_id_from(meta) == expected


@pytest.mark.parametrize(
    "meta",
    [
        {},
        {"x-trace-id": ""},
        {"x-trace-id": "has space"},
        {"x-trace-id": "x" * 129},
        {"traceparent": "00-00000000000000000000000000000000-00f067aa0ba902b7-01"},
        {"traceparent": "garbage"},
    ],
)
def test_missing_or_unsafe_trace_ids_are_replaced_by_new_ones(meta: dict[str, str]) -> None:
    first, second = trace_id_from(meta), trace_id_from(meta)
    assert len(first) == 32
    assert int(first, 16) >= 0
    assert first != second


def test_identity_roles() -> None:
    ann = Identity("ann", roles=("admin",), claims={"org": "o1"})
    assert ann.has_role("viewer", "admin")
    assert not ann.has_role("viewer")
    assert Identity.from_dict(ann.to_dict()).to_dict() == ann.to_dict()


async def test_a_handler_sees_its_context() -> None:
    probe = Group("probe")

    @probe.command("inspect")
    async def inspect(params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        ctx.logger.info("inside")  # bound on first use
        return {
            "code": ctx.code,
            "adapter": ctx.adapter,
            "subject": ctx.identity.subject if ctx.identity else None,
            "meta": dict(ctx.meta),
            "remaining": ctx.remaining(),
        }

    async with TestApp(Application("ctx", groups=[probe], http=False, env_file=None)) as t:
        result = await t.result("probe/inspect", meta={"x-custom": "1"}, identity=Identity("ann"))
    assert result == {
        "code": "probe/inspect",
        "adapter": "test",
        "subject": "ann",
        "meta": {"x-custom": "1"},
        "remaining": None,
    }


async def test_check_deadline_raises_gateway_timeout_once_passed() -> None:
    app = Application("ctx", http=False, env_file=None)
    await app.start(serve=False)
    try:
        ctx = Context(
            app,
            command=None,
            trace_id="t",
            meta={},
            adapter="test",
            scope=app.container.request_scope(),
            deadline=time.time() - 1,
        )
        with pytest.raises(GatewayTimeout):
            ctx.check_deadline()
        assert ctx.logger is ctx.logger
    finally:
        await app.stop()
