"""Calls over a real WebSocket: concurrency, matching by id, bad frames, limits, trace ids, identity."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import aiohttp
import pytest

from betrue.server import Application, InternalError, NotFound
from betrue.ws import WsClient

MakeApp = Callable[..., Application]
Serving = Callable[[Application], AbstractAsyncContextManager[str]]


async def test_100_concurrent_calls_on_one_connection_are_all_answered_and_matched_by_id(
    make_app: MakeApp, serving: Serving
) -> None:
    async with serving(make_app()) as url, aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
        # Later calls sleep less, so answers come back in a different order than the calls went out.
        for n in range(100):
            await ws.send_json({"id": n, "command": "t/sleep", "params": {"n": n, "seconds": (100 - n) * 0.003}})
        answers: list[dict[str, Any]] = []
        async with asyncio.timeout(5):
            while len(answers) < 100:
                answers.append(json.loads(await ws.receive_str()))
    assert sorted(answer["id"] for answer in answers) == list(range(100))
    assert all(answer["result"] == {"n": answer["id"]} and answer["code"] == 200 for answer in answers)
    assert [answer["id"] for answer in answers] != list(range(100))  # they really ran at once


async def test_string_ids_are_answered_back_unchanged(make_app: MakeApp, serving: Serving) -> None:
    async with serving(make_app()) as url, aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
        await ws.send_json({"id": "a-1", "command": "t/echo", "params": {"x": 1}})
        answer = json.loads(await ws.receive_str(timeout=5))
    assert answer["id"] == "a-1"
    assert answer["result"] == {"x": 1}
    assert answer["status"] == "Success"
    assert len(answer["traceId"]) == 32


BAD_FRAMES: list[tuple[str, str | bytes, Any, int, str]] = [
    ("not JSON", "hello", None, 400, "syntax"),
    ("empty", "", None, 400, "empty_body"),
    ("truncated", '{"id": 1, "command": ', None, 400, "truncated"),
    ("duplicate key", '{"id": 1, "id": 2, "command": "t/echo"}', None, 400, "duplicate_key"),
    ("too deep", "[" * 300 + "]" * 300, None, 400, "too_deep"),
    ("NaN", '{"id": 1, "command": "t/echo", "params": {"x": NaN}}', None, 400, "non_finite_number"),
    ("an array", "[1, 2]", None, 400, "not_an_object"),
    ("no id", '{"command": "t/echo"}', None, 400, "bad_id"),
    ("boolean id", '{"id": true, "command": "t/echo"}', None, 400, "bad_id"),
    ("no command", '{"id": 7}', 7, 400, "bad_command"),
    ("meta not strings", '{"id": 8, "command": "t/echo", "meta": {"a": 1}}', 8, 400, "bad_meta"),
    ("binary frame", b'{"id": 9, "command": "t/echo"}', None, 415, ""),
]


@pytest.mark.parametrize(("kind", "frame", "call_id", "code", "reason"), BAD_FRAMES, ids=[b[0] for b in BAD_FRAMES])
async def test_a_bad_frame_gets_an_error_envelope_and_the_connection_stays_open(
    make_app: MakeApp, serving: Serving, kind: str, frame: str | bytes, call_id: Any, code: int, reason: str
) -> None:
    async with serving(make_app()) as url, WsClient(url) as client:
        await client.send_raw(frame)
        answer = await asyncio.wait_for(client.unmatched.get(), 5)
        assert answer["id"] == call_id
        assert answer["code"] == code
        assert answer["error"]["message"]
        if reason:
            assert answer["error"]["details"]["reason"] == reason
        assert await client.call("t/echo", {"still": "open"}) == {"still": "open"}


async def test_unknown_commands_and_params_that_are_not_objects_are_answered_with_the_call_id(
    make_app: MakeApp, serving: Serving
) -> None:
    async with serving(make_app()) as url, aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
        await ws.send_json({"id": 1, "command": "nope/nope"})
        unknown = json.loads(await ws.receive_str(timeout=5))
        await ws.send_json({"id": 2, "command": "t/echo", "params": [1, 2]})
        not_object = json.loads(await ws.receive_str(timeout=5))
    assert (unknown["id"], unknown["code"], unknown["status"]) == (1, 404, NotFound.status)
    assert (not_object["id"], not_object["code"], not_object["status"]) == (2, 400, "ValidationError")


async def test_calls_beyond_the_in_flight_limit_are_answered_429_at_once(
    make_app: MakeApp, serving: Serving, gate: Any
) -> None:
    async with serving(make_app(WS_MAX_INFLIGHT=2)) as url, WsClient(url) as client:
        held = [asyncio.create_task(client.call("t/hold")) for _ in range(2)]
        await asyncio.wait_for(gate.entered.wait(), 5)
        envelope = await client.call_envelope("t/echo", {})
        assert (envelope["code"], envelope["status"]) == (429, "TooManyRequests")
        assert envelope["error"]["details"] == {"max_inflight": 2}
        gate.release.set()
        assert await asyncio.gather(*held) == [{"released": True}] * 2
        assert await client.call("t/echo", {"a": 1}) == {"a": 1}  # the slots are free again


async def test_an_id_still_in_flight_cannot_be_reused(make_app: MakeApp, serving: Serving, gate: Any) -> None:
    async with serving(make_app()) as url, aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
        await ws.send_json({"id": 5, "command": "t/hold"})
        await asyncio.wait_for(gate.entered.wait(), 5)
        await ws.send_json({"id": 5, "command": "t/echo"})
        conflict = json.loads(await ws.receive_str(timeout=5))
        gate.release.set()
        done = json.loads(await ws.receive_str(timeout=5))
    assert (conflict["id"], conflict["code"], conflict["status"]) == (5, 409, "Conflict")
    assert (done["id"], done["result"]) == (5, {"released": True})


async def test_each_call_has_its_own_trace_id_taken_from_its_meta(make_app: MakeApp, serving: Serving) -> None:
    parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    headers = {"x-trace-id": "from-the-handshake", "X-Team": "blue"}
    async with serving(make_app()) as url, WsClient(url, headers=headers) as client:
        given = await client.call_envelope("t/whoami", meta={"x-trace-id": "trace-1"})
        from_parent = await client.call_envelope("t/whoami", meta={"traceparent": parent})
        fresh = [await client.call_envelope("t/whoami") for _ in range(2)]
    assert given["traceId"] == given["result"]["trace_id"] == "trace-1"
    assert from_parent["traceId"] == "0af7651916cd43dd8448eb211c80319c"
    assert fresh[0]["traceId"] != fresh[1]["traceId"]
    assert "from-the-handshake" not in {envelope["traceId"] for envelope in fresh}
    meta = given["result"]["meta"]
    assert meta["x-team"] == "blue"  # the handshake's headers are every call's meta, under the call's own
    assert given["result"]["adapter"] == "ws"


async def test_an_identity_set_on_the_connection_is_the_caller_of_its_next_calls(
    make_app: MakeApp, serving: Serving
) -> None:
    async with serving(make_app()) as url, WsClient(url) as first, WsClient(url) as second:
        assert (await first.call("t/whoami"))["subject"] is None
        await first.call("t/set", {"login": "ann"})
        assert (await first.call("t/whoami"))["subject"] == "ann"
        assert (await second.call("t/whoami"))["subject"] is None


async def test_a_result_that_cannot_be_encoded_is_a_500_with_the_trace_id(make_app: MakeApp, serving: Serving) -> None:
    async with serving(make_app()) as url, WsClient(url) as client:
        with pytest.raises(InternalError) as raised:
            await client.call("t/object")
        assert await client.call("t/echo", {"after": 1}) == {"after": 1}
    assert "trace id" in raised.value.message


async def test_a_call_meta_can_carry_its_deadline(make_app: MakeApp, serving: Serving) -> None:
    async with serving(make_app()) as url, WsClient(url, headers={"x-timeout-ms": "1"}) as client:
        assert await client.call("t/sleep", {"n": 1, "seconds": 0.05}) == {"n": 1}  # not the handshake's
        late = await client.call_envelope("t/sleep", {"seconds": 2}, meta={"x-timeout-ms": "50"})
    assert (late["code"], late["status"]) == (504, "GatewayTimeout")
