"""What the order of PIPELINE means for a user: outer slots see what inner ones decide."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from betrue.server import Application, CallNext, Context, Group, Response, Service
from betrue.server.testing import TestApp


def _counted(reader: InMemoryMetricReader, metric_name: str) -> dict[tuple[str, str], float]:
    data = reader.get_metrics_data()
    assert data is not None
    found: dict[tuple[str, str], float] = {}
    scopes = [scope for resource in data.resource_metrics for scope in resource.scope_metrics]
    for metric in (metric for scope in scopes for metric in scope.metrics if metric.name == metric_name):
        for point in metric.data.data_points:
            attributes = dict(point.attributes or {})
            key = (str(attributes.get("command")), str(attributes.get("status")))
            found[key] = found.get(key, 0) + point.value  # type: ignore[union-attr]
    return found


async def test_a_call_ended_by_its_deadline_is_still_measured_as_a_timeout() -> None:
    slow = Group("slow")

    @slow.command("wait")
    async def wait(params: Any, ctx: Context) -> None:
        await asyncio.sleep(5)

    reader = InMemoryMetricReader()
    app = Application("order", groups=[slow], http=False, env_file=None)
    app.telemetry.use(meter_provider=MeterProvider(metric_readers=[reader]))
    async with TestApp(app):
        response = await app.handle("slow/wait", {}, deadline=time.time() + 0.05)
    assert response.code == 504
    assert _counted(reader, "betrue.server.calls") == {("slow/wait", "GatewayTimeout"): 1}


async def test_a_user_middleware_sees_validated_nothing_and_raw_params() -> None:
    seen: list[Any] = []
    shop = Group("shop")

    @shop.use
    async def peek(ctx: Context, params: Any, call_next: CallNext) -> Response:
        seen.append(params)
        return await call_next(ctx, params)

    @shop.command("buy", input={"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]})
    async def buy(params: Any, ctx: Context) -> int:
        return int(params["n"])

    app = Application("order", groups=[shop], http=False, env_file=None)
    async with TestApp(app) as running:
        refused = await running.call("shop/buy", {"n": "x"})
    assert refused["status"] == "ValidationError"
    assert seen == [{"n": "x"}]  # middlewares run outside validation: they see what the caller sent


async def test_the_log_slot_sees_the_error_response_and_the_trace_slot_the_exception() -> None:
    outside: list[str] = []
    inside: list[str] = []
    shop = Group("shop")

    @shop.command("fail")
    async def fail(params: Any, ctx: Context) -> None:
        raise RuntimeError("bug")

    async def outer(ctx: Context, params: Any, call_next: CallNext) -> Response:
        response = await call_next(ctx, params)
        outside.append(response.status)
        return response

    async def inner(ctx: Context, params: Any, call_next: CallNext) -> Response:
        try:
            return await call_next(ctx, params)
        except RuntimeError as error:
            inside.append(str(error))
            raise

    app = Application("order", groups=[shop], http=False, env_file=None)
    app.add_stage("log", lambda app, command: outer)  # outside the error boundary
    app.add_stage("trace", lambda app, command: inner)  # inside it: a span records the exception itself
    async with TestApp(app) as running:
        envelope = await running.call("shop/fail")
    assert envelope["status"] == "InternalError"
    assert outside == ["InternalError"]
    assert inside == ["bug"]


class Tenant(Service):
    name = "tenant"
    scope = "request"

    def __init__(self, config: Any = None, **deps: Any) -> None:
        super().__init__(config, **deps)
        self.id = id(self)


class Repo(Service):
    name = "repo"
    scope = "auto"
    deps = ("tenant",)


async def test_a_service_asked_for_by_class_follows_its_scope_through_dependencies() -> None:
    shop = Group("shop")

    @shop.command("ids")
    async def ids(params: Any, ctx: Context) -> list[int]:
        repo = await ctx.service(Repo)
        tenant = await ctx.service(Tenant)
        assert repo.services["tenant"] is tenant
        return [tenant.id]

    app = Application("scopes", groups=[shop], http=False, env_file=None)
    app.add_service(Tenant)
    app.add_service(Repo)
    async with TestApp(app) as running:
        first = await running.result("shop/ids")
        second = await running.result("shop/ids")
    assert first != second  # request scope: a new tenant per call, and the repo built on it
