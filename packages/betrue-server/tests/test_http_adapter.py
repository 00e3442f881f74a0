"""The HTTP adapter over real HTTP: envelopes, statuses, trace ids, bodies, limits and the route hook."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from betrue.server import (
    Application,
    BadGateway,
    BetrueError,
    Conflict,
    Context,
    Forbidden,
    GatewayTimeout,
    Group,
    InternalError,
    NotFound,
    PayloadTooLarge,
    Response,
    Service,
    ServiceUnavailable,
    TooManyRequests,
    Unauthorized,
    UnsupportedMediaType,
    ValidationError,
)
from betrue.server.testing import TestApp, http_client

ERRORS: list[type[BetrueError]] = [
    ValidationError,
    Unauthorized,
    Forbidden,
    NotFound,
    Conflict,
    PayloadTooLarge,
    UnsupportedMediaType,
    TooManyRequests,
    InternalError,
    BadGateway,
    ServiceUnavailable,
    GatewayTimeout,
]

ORDER = {
    "type": "object",
    "properties": {
        "room": {"type": "string", "minLength": 1},
        "count": {"type": "integer", "minimum": 1},
        "tags": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["room", "count"],
    "additionalProperties": False,
}


class Pages(Service):
    """Adds a route of its own to the HTTP server, as static files or WebSocket would."""

    name = "pages"
    deps = ("http",)

    async def start(self) -> Pages:
        async def index(request: web.Request) -> web.Response:
            return web.Response(text="hello from pages")

        self.services["http"].web.router.add_get("/", index)
        return self


def make_app() -> Application:
    demo = Group("demo")

    @demo.command("echo", input={"type": "object"})
    async def echo(params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        return {"params": params, "trace_id": ctx.trace_id, "agent": ctx.meta.get("x-agent")}

    @demo.command("order", input=ORDER, output={"type": "object"})
    async def order(params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        return params

    @demo.command("fail", input={"type": "object", "properties": {"status": {"type": "string"}}})
    async def fail(params: dict[str, Any], ctx: Context) -> None:
        cls = next(error for error in ERRORS if error.status == params["status"])
        raise cls(f"{cls.status} on purpose", details={"why": "test"})

    @demo.command("crash")
    async def crash(params: dict[str, Any], ctx: Context) -> None:
        raise RuntimeError("secret internals /etc/passwd")

    @demo.command("bad-output", output={"type": "object", "required": ["id"]})
    async def bad_output(params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        return {"name": "no id"}

    @demo.command("not-json")
    async def not_json(params: dict[str, Any], ctx: Context) -> object:
        return object()

    @demo.command("created")
    async def created(params: dict[str, Any], ctx: Context) -> Response:
        return Response({"id": 7}, code=201, status="Created", headers={"Location": "/rooms/7", "X-Extra": "1"})

    app = Application("http-test", groups=[demo], environ={"HTTP_BODY_LIMIT": "1024"}, env_file=None)
    app.add_service(Pages)
    return app


@pytest.fixture
async def client() -> AsyncIterator[TestApp]:
    async with http_client(make_app()) as running:
        yield running


async def test_success_envelope_with_the_trace_id_in_header_and_body(client: TestApp) -> None:
    reply = await client.post("demo/order", {"room": "r1", "count": 2})
    assert reply.status == 200
    assert reply.headers["content-type"] == "application/json"
    trace_id = reply.headers["x-trace-id"]
    assert reply.envelope == {
        "code": 200,
        "status": "Success",
        "result": {"room": "r1", "count": 2},
        "traceId": trace_id,
    }
    assert len(trace_id) == 32


async def test_trace_id_is_passed_through_and_headers_reach_the_context(client: TestApp) -> None:
    reply = await client.post("demo/echo", {"a": 1}, headers={"X-Trace-Id": "req-42", "X-Agent": "tests"})
    assert reply.headers["x-trace-id"] == "req-42"
    assert reply.envelope["traceId"] == "req-42"
    assert reply.envelope["result"] == {"params": {"a": 1}, "trace_id": "req-42", "agent": "tests"}


async def test_trace_id_comes_from_traceparent_and_unsafe_ids_are_replaced(client: TestApp) -> None:
    parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    reply = await client.post("demo/echo", {}, headers={"traceparent": parent})
    assert reply.envelope["traceId"] == "4bf92f3577b34da6a3ce929d0e0e4736"
    unsafe = await client.post("demo/echo", {}, headers={"X-Trace-Id": "x" * 500})
    assert unsafe.envelope["traceId"] != "x" * 500
    assert unsafe.headers["x-trace-id"] == unsafe.envelope["traceId"]


@pytest.mark.parametrize("error", ERRORS, ids=lambda error: error.status)
async def test_each_error_class_arrives_with_its_code_status_and_details(
    client: TestApp, error: type[BetrueError]
) -> None:
    reply = await client.post("demo/fail", {"status": error.status})
    assert reply.status == error.code
    assert reply.envelope["code"] == error.code
    assert reply.envelope["status"] == error.status
    assert reply.envelope["error"] == {"message": f"{error.status} on purpose", "details": {"why": "test"}}
    assert reply.envelope["traceId"] == reply.headers["x-trace-id"]


async def test_invalid_input_lists_every_failing_field(client: TestApp) -> None:
    reply = await client.post("demo/order", {"room": "", "count": 0, "tags": [1], "extra": True})
    assert reply.status == 400
    assert reply.envelope["status"] == "ValidationError"
    paths = sorted(item["path"] for item in reply.envelope["error"]["details"])
    assert paths == ["/count", "/extra", "/room", "/tags/0"]


async def test_invalid_output_is_a_500_that_names_nothing_internal(client: TestApp) -> None:
    reply = await client.post("demo/bad-output", {})
    assert reply.status == 500
    assert reply.envelope["status"] == "InternalError"
    assert reply.envelope["traceId"] in reply.envelope["error"]["message"]
    assert "id" not in reply.envelope["error"].get("details", {})


async def test_unhandled_exception_is_a_500_without_traceback_but_with_the_trace_id(client: TestApp) -> None:
    reply = await client.post("demo/crash", {})
    assert reply.status == 500
    assert reply.envelope["status"] == "InternalError"
    assert reply.envelope["traceId"] in reply.envelope["error"]["message"]
    text = reply.body.decode()
    assert "Traceback" not in text
    assert "passwd" not in text
    assert "RuntimeError" not in text


async def test_a_result_json_cannot_carry_is_a_500(client: TestApp) -> None:
    reply = await client.post("demo/not-json", {})
    assert reply.status == 500
    assert reply.envelope["status"] == "InternalError"


async def test_unknown_command_is_404_listing_nothing(client: TestApp) -> None:
    reply = await client.post("nope/missing", {})
    assert reply.status == 404
    assert reply.envelope["error"] == {"message": "Unknown command"}
    assert reply.envelope["traceId"]


async def test_non_json_body_is_400(client: TestApp) -> None:
    reply = await client.post("demo/echo", data=b"{not json")
    assert reply.status == 400
    assert reply.envelope["status"] == "ValidationError"
    assert reply.envelope["error"]["details"]["reason"] == "syntax"


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/json; charset=latin-1", None]
)
async def test_a_body_that_is_not_declared_json_is_415(client: TestApp, content_type: str | None) -> None:
    reply = await client.post("demo/echo", data=b'{"a": 1}', content_type=content_type)
    assert reply.status == 415
    assert reply.envelope["status"] == "UnsupportedMediaType"


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8", "application/vnd.api+json"])
async def test_json_media_types_with_parameters_are_accepted(client: TestApp, content_type: str) -> None:
    reply = await client.post("demo/echo", data=b'{"a": 1}', content_type=content_type)
    assert reply.status == 200


async def test_an_empty_body_means_no_params(client: TestApp) -> None:
    for content_type in ("application/json", None):
        reply = await client.post("demo/echo", data=b"", content_type=content_type)
        assert reply.status == 200
        assert reply.envelope["result"]["params"] == {}


async def test_a_json_root_that_is_not_an_object_is_400(client: TestApp) -> None:
    reply = await client.post("demo/echo", data=b"[1, 2]")
    assert reply.status == 400
    assert reply.envelope["status"] == "ValidationError"


async def test_a_body_over_the_limit_with_content_length_is_413(client: TestApp) -> None:
    reply = await client.post("demo/echo", {"text": "x" * 2000})
    assert reply.status == 413
    assert reply.envelope["status"] == "PayloadTooLarge"
    assert reply.envelope["error"]["details"] == {"limit": 1024}


async def test_a_chunked_body_over_the_limit_is_413(client: TestApp) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"text": "'
        for _ in range(40):
            yield b"x" * 100
        yield b'"}'

    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{client.url}/api/demo/echo", data=chunks(), headers={"Content-Type": "application/json"}
        ) as reply,
    ):
        assert reply.headers.get("Content-Length") is not None
        assert reply.request_info.headers.get("Transfer-Encoding") == "chunked"
        assert reply.status == 413
        assert (await reply.json())["status"] == "PayloadTooLarge"


async def test_a_compressed_body_is_limited_by_its_decompressed_size(client: TestApp) -> None:
    small_on_the_wire = gzip.compress(b'{"text": "' + b"x" * 50_000 + b'"}')
    assert len(small_on_the_wire) < 1024
    reply = await client.post("demo/echo", data=small_on_the_wire, headers={"Content-Encoding": "gzip"})
    assert reply.status == 413


async def test_a_body_within_the_limit_in_chunks_is_read_whole(client: TestApp) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for part in (b'{"a"', b": ", b"[1, 2", b", 3]}"):
            yield part
            await asyncio.sleep(0)

    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{client.url}/api/demo/echo", data=chunks(), headers={"Content-Type": "application/json"}) as r,
    ):
        assert r.status == 200
        assert (await r.json())["result"]["params"] == {"a": [1, 2, 3]}


async def test_a_response_sets_code_status_and_headers(client: TestApp) -> None:
    reply = await client.post("demo/created", {})
    assert reply.status == 201
    assert reply.headers["location"] == "/rooms/7"
    assert reply.headers["x-extra"] == "1"
    assert reply.envelope["code"] == 201
    assert reply.envelope["status"] == "Created"


async def test_other_methods_on_the_api_path_are_405_envelopes(client: TestApp) -> None:
    async with aiohttp.ClientSession() as session, session.get(f"{client.url}/api/demo/echo") as reply:
        assert reply.status == 405
        assert reply.headers["Allow"] == "POST"
        assert (await reply.json())["status"] == "MethodNotAllowed"


async def test_other_services_add_routes_to_the_same_server(client: TestApp) -> None:
    async with aiohttp.ClientSession() as session, session.get(f"{client.url}/") as reply:
        assert reply.status == 200
        assert await reply.text() == "hello from pages"


async def test_keep_alive_serves_many_calls_on_one_connection(client: TestApp) -> None:
    connector = aiohttp.TCPConnector(limit=1)
    async with aiohttp.ClientSession(connector=connector) as session:
        for index in range(5):
            async with session.post(f"{client.url}/api/demo/echo", json={"i": index}) as reply:
                assert (await reply.json())["result"]["params"] == {"i": index}
    assert connector.closed


async def test_the_api_prefix_is_configurable() -> None:
    async with http_client(make_app(), env={"HTTP_API_PREFIX": "/rpc/v1"}) as running:
        assert (await running.post("demo/echo", {"a": 1})).status == 200
        async with aiohttp.ClientSession() as session, session.post(f"{running.url}/api/demo/echo", json={}) as r:
            assert r.status == 404
