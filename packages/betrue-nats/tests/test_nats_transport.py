"""The NATS transport against the NATS adapter: results, errors, deadlines, fail-fast, payload limits."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from betrue.nats import NatsTransport, parse_target
from betrue.server import (
    Application,
    BadGateway,
    BetrueError,
    Conflict,
    Forbidden,
    GatewayTimeout,
    Group,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    RequestTimeout,
    ServiceUnavailable,
    TooManyRequests,
    Unauthorized,
    UnsupportedMediaType,
    ValidationError,
)

AppFactory = Callable[..., Awaitable[Application]]
GroupFactory = Callable[..., Group]


def test_targets_name_servers_app_and_prefix() -> None:
    target = parse_target("nats://a:4222,b:4223/game?prefix=acme&timeout=3")
    assert target.servers == ["nats://a:4222", "nats://b:4223"]
    assert (target.app, target.prefix, target.timeout) == ("game", "acme", 3.0)
    assert parse_target("nats://127.0.0.1:4222").app == ""
    with pytest.raises(ValueError, match="not a NATS target"):
        parse_target("http://127.0.0.1:4222")


async def test_a_call_over_nats_answers_the_envelope(make_app: AppFactory, shared_nats: str, prefix: str) -> None:
    await make_app("svc")
    transport = NatsTransport(f"{shared_nats}/svc?prefix={prefix}")
    try:
        envelope = await transport.call("svc/add", {"a": 2, "b": 3}, {"x-trace-id": "tr1"}, time.time() + 5)
        assert envelope == {"code": 200, "status": "Success", "result": {"sum": 5}, "traceId": "tr1"}
        echoed = await transport.call("svc/echo", {"k": [1, "é"]}, {"x-test-h": "v"}, None)
        assert echoed["result"] == {"params": {"k": [1, "é"]}, "meta": {"x-test-h": "v"}}
    finally:
        await transport.close()


async def test_routes_with_a_nats_target_need_nothing_but_the_installed_package(
    make_app: AppFactory, shared_nats: str, prefix: str
) -> None:
    await make_app("svc")
    caller = await make_app(
        "caller", adapter=False, groups=[], environ={"ROUTES": f"svc={shared_nats}?prefix={prefix}"}
    )
    assert await caller.client.call("svc/add", {"a": 1, "b": 41}) == {"sum": 42}
    assert type(caller.client.transport_for("svc/add")).__name__ == "NatsTransport"


class BetrueNatsTestRefusal(Conflict):
    """An application's own error class: the caller knows it by its status."""

    status = "BetrueNatsTestRefusal"


@pytest.mark.parametrize(
    "error",
    [
        ValidationError,
        Unauthorized,
        Forbidden,
        NotFound,
        MethodNotAllowed,
        RequestTimeout,
        Conflict,
        PayloadTooLarge,
        UnsupportedMediaType,
        TooManyRequests,
        BadGateway,
        ServiceUnavailable,
        GatewayTimeout,
        BetrueNatsTestRefusal,
    ],
)
async def test_every_error_class_crosses_intact(
    make_app: AppFactory, shared_nats: str, prefix: str, error: type[BetrueError]
) -> None:
    await make_app("svc")
    caller = await make_app(
        "caller", adapter=False, groups=[], environ={"ROUTES": f"svc={shared_nats}/svc?prefix={prefix}"}
    )
    with pytest.raises(error) as raised:
        await caller.client.call("svc/fail", {"status": error.status}, idempotent=False)
    assert raised.value.details == {"why": error.status}


async def test_bad_params_unknown_commands_and_bad_json_get_4xx(
    make_app: AppFactory, shared_nats: str, prefix: str
) -> None:
    app = await make_app("svc")
    transport = NatsTransport(f"{shared_nats}/svc?prefix={prefix}")
    try:
        bad = await transport.call("svc/add", {"a": "x", "b": 1}, {}, time.time() + 5)
        assert (bad["code"], bad["status"]) == (400, "ValidationError")
        unknown = await transport.call("svc/nope", {}, {}, time.time() + 5)
        assert unknown["code"] == 404
        assert transport.connection is not None
        raw = await transport.connection.client.request(f"{prefix}.cmd.svc.svc.add", b'{"a": 1, "a": 2}', timeout=5)
        assert b'"code":400' in raw.data
        assert b"duplicate" in raw.data
        assert app.started
    finally:
        await transport.close()


async def test_no_responders_is_503_at_once(shared_nats: str, prefix: str) -> None:
    transport = NatsTransport(f"{shared_nats}/ghost?prefix={prefix}")
    try:
        started = time.monotonic()
        with pytest.raises(ServiceUnavailable) as raised:
            await transport.call("ghost/x", {}, {}, time.time() + 10)
        assert raised.value.details["reason"] == "no_responders"
        assert time.monotonic() - started < 2
    finally:
        await transport.close()


async def test_the_deadline_gives_504_and_the_responder_stops(
    make_app: AppFactory, shared_nats: str, prefix: str, svc_group: GroupFactory
) -> None:
    runs: list[str] = []
    await make_app("svc", groups=[svc_group(runs)])
    transport = NatsTransport(f"{shared_nats}/svc?prefix={prefix}")
    try:
        with pytest.raises(GatewayTimeout):
            await transport.call("svc/sleep", {"seconds": 5, "n": 1}, {}, time.time() + 0.3)
        with pytest.raises(GatewayTimeout):
            await transport.call("svc/sleep", {"n": 2}, {}, time.time() - 1)
        assert runs == ["1"]
    finally:
        await transport.close()


async def test_a_late_request_is_not_run(
    make_app: AppFactory, shared_nats: str, prefix: str, svc_group: GroupFactory
) -> None:
    runs: list[str] = []
    app = await make_app("svc", groups=[svc_group(runs)])
    transport = NatsTransport(f"{shared_nats}/svc?prefix={prefix}")
    try:
        await transport.call("svc/sleep", {"n": 0}, {}, None)
        assert transport.connection is not None
        late = {"x-deadline-ms": str(int((time.time() - 1) * 1000))}  # as if nats-py sent it after a reconnect
        reply = await transport.connection.client.request(f"{prefix}.cmd.svc.svc.sleep", b'{"n": 9}', 5, headers=late)
        assert b'"code":504' in reply.data
        assert runs == ["0"]
        adapter: Any = app.service("nats-adapter")
        assert adapter.stats.expired == 1
    finally:
        await transport.close()


async def test_oversize_payloads_get_413_not_a_hang(make_app: AppFactory, shared_nats: str, prefix: str) -> None:
    await make_app("svc")
    transport = NatsTransport(f"{shared_nats}/svc?prefix={prefix}")
    try:
        await transport.call("svc/echo", {}, {}, None)
        assert transport.connection is not None
        limit = transport.connection.client.max_payload
        with pytest.raises(PayloadTooLarge):
            await transport.call("svc/echo", {"x": "y" * limit}, {}, time.time() + 5)
        answer = await transport.call("svc/big", {"size": limit + 10}, {}, time.time() + 5)
        assert (answer["code"], answer["error"]["details"]["reason"]) == (413, "answer_too_large")
    finally:
        await transport.close()


async def test_a_reply_that_is_not_an_envelope_is_502(shared_nats: str, prefix: str) -> None:
    transport = NatsTransport(f"{shared_nats}/odd?prefix={prefix}")
    try:
        import nats

        responder = await nats.connect(shared_nats)

        async def answer(msg: Any) -> None:
            await msg.respond(b"not json")

        await responder.subscribe(f"{prefix}.cmd.odd.>", cb=answer)
        await responder.flush()
        try:
            with pytest.raises(BadGateway):
                await transport.call("odd/x", {}, {}, time.time() + 5)
        finally:
            await responder.close()
    finally:
        await transport.close()


async def test_an_unreachable_nats_target_fails_within_the_calls_deadline() -> None:
    transport = NatsTransport("nats://127.0.0.1:1/svc")
    try:
        started = time.monotonic()
        with pytest.raises(ServiceUnavailable) as raised:
            await transport.call("svc/add", {"a": 1, "b": 2}, {}, time.time() + 0.5)
        assert raised.value.details["reason"] == "connect"
        assert time.monotonic() - started < 3
    finally:
        await transport.close()


async def test_calls_are_counted_and_timed_per_subject(shared_nats: str, prefix: str, svc_group: GroupFactory) -> None:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    from betrue.nats import NatsAdapter, NatsConnection

    environ = {"NATS_URL": shared_nats, "NATS_PREFIX": prefix, "LOG_LEVEL": "WARNING"}
    app = Application("svc", groups=[svc_group()], http=False, environ=environ, env_file=None)
    reader = InMemoryMetricReader()
    app.telemetry.use(meter_provider=MeterProvider(metric_readers=[reader]))
    app.add_service(NatsConnection)
    app.add_service(NatsAdapter)
    await app.start()
    transport = NatsTransport(f"{shared_nats}/svc?prefix={prefix}")
    try:
        for _ in range(3):
            await transport.call("svc/add", {"a": 1, "b": 1}, {}, time.time() + 5)
        late = {"x-deadline-ms": str(int((time.time() - 1) * 1000))}
        assert transport.connection is not None
        await transport.connection.client.request(f"{prefix}.cmd.svc.svc.add", b"{}", 5, headers=late)
    finally:
        await transport.close()
        await app.stop()
    points: dict[tuple[str, Any], float] = {}
    data = reader.get_metrics_data()
    assert data is not None
    for resource in data.resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                for point in metric.data.data_points:
                    attributes = dict(point.attributes or {})
                    key = (metric.name, attributes.get("subject") or attributes.get("reason"))
                    value: Any = getattr(point, "value", None)
                    points[key] = float(value if value is not None else getattr(point, "count", 0))
    subject = f"{prefix}.cmd.svc.svc.add"
    assert points[("betrue.nats.calls", subject)] >= 1
    assert points[("betrue.nats.duration", subject)] == 4
    assert points[("betrue.nats.refused", "deadline")] == 1


@pytest.mark.parametrize(
    ("payload", "headers", "code", "reason"),
    [
        (b"[1, 2]", None, 400, "not_an_object"),
        (b"", None, 400, None),  # no params: {} fails svc/add's schema
        (b'{"a": 1, "b": NaN}', None, 400, "non_finite_number"),
        # an unreadable timeout is refused, as over HTTP and WebSocket; an unreadable absolute deadline is ignored
        (b'{"a": 1, "b": 2}', {"x-timeout-ms": "soon", "x-deadline-ms": "later"}, 400, "bad_timeout"),
        (b'{"a": 1, "b": 2}', {"x-timeout-ms": "0"}, 400, "bad_timeout"),
        (b'{"a": 1, "b": 2}', {"x-deadline-ms": "later"}, 200, None),
        (b"\xff\xfe", None, 400, "unsupported_encoding"),
    ],
)
async def test_bad_input_on_the_wire_gets_a_clear_answer(
    make_app: AppFactory,
    shared_nats: str,
    prefix: str,
    payload: bytes,
    headers: dict[str, str] | None,
    code: int,
    reason: str | None,
) -> None:
    import nats
    import orjson

    await make_app("svc")
    client = await nats.connect(shared_nats)
    try:
        reply = await client.request(f"{prefix}.cmd.svc.svc.add", payload, timeout=5, headers=headers)
    finally:
        await client.close()
    envelope = orjson.loads(reply.data)
    assert envelope["code"] == code, envelope
    if reason is not None:
        assert envelope["error"]["details"]["reason"] == reason
