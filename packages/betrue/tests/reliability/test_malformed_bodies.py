"""Malformed JSON bodies: every one answered with a 4xx envelope by every example app, none a 5xx."""

from __future__ import annotations

import json

import pytest

from .attack import TALLY, exchange, request
from .conftest import GatewayStack, Served

FAMILY = "malformed JSON bodies"


def corpus(size: str) -> list[tuple[bytes, bool]]:
    """Bodies no strict decoder may accept, or that a command's schema refuses."""
    valid = b'{"room": "general", "text": "hi"}'
    bodies = [
        b"",
        b"{",
        b"}",
        b"[",
        b"null",
        b"[]",
        b'"text"',
        b"1",
        b"true",
        b"{'a': 1}",
        b'{"a": 1,}',
        b'{"a": 1 "b": 2}',
        b'{"a": 1, "a": 2}',
        b'{"a": NaN}',
        b'{"a": Infinity}',
        b'{"a": -Infinity}',
        b'{"a": 1e999}',
        b'{"a": 99999999999999999999999}',
        b'{"a": -99999999999999999999999}',
        b'{"a": "\\u0000"}',
        b'{"a": "\\ud800"}',
        b'{"a": "\xff\xfe"}',
        b"\xef\xbb\xbf" + valid,
        b"\xff\xfe" + valid.decode().encode("utf-16-le"),
        valid.decode().encode("utf-16"),
        valid.decode().encode("utf-32"),
        valid + b" x",
        valid + valid,
        b"[" * 300 + b"]" * 300,
        b'{"a":' * 300 + b"1" + b"}" * 300,
    ]
    # Bodies that are JSON but break a schema somewhere (some command may still take them: 2xx or 4xx).
    schema_breakers = [
        b'{"room": 1, "text": 2}',
        b'{"room": ["general"], "text": {"x": 1}}',
        b'{"room": "general", "text": "' + b"x" * 5000 + b'"}',
        b'{"room": "../../etc", "text": "hi"}',
        b'{"room": "general", "limit": 5.5}',
        b'{"room": "general", "limit": -1}',
        b'{"room": "general", "limit": 1e400}',
        b'{"room": "general", "before": 18446744073709551616}',
        b'{"__proto__": {"admin": true}}',
    ]
    bodies += [
        b"\x00" * 16,
        b"<xml/>",
        b"room=general&text=hi",
    ]
    bodies += [valid[:cut] for cut in range(1, len(valid) - 1, 3)]
    if size == "long":
        bodies += [valid.replace(b'"', b"'", count) for count in range(1, 8)]
        bodies += [bytes([byte]) + valid for byte in range(0, 256, 3) if byte not in b" \t\r\n{"]
        schema_breakers += [json.dumps({"room": "general", "text": "x", f"k{n}": n}).encode() for n in range(20)]
    return [(body, True) for body in bodies] + [(body, False) for body in schema_breakers]


CODES = {"chat": ["chat/send", "chat/history", "user/login"], "gateway": ["chat/post", "game/load"]}


async def attack(served: Served, size: str, headers: tuple[str, ...]) -> None:
    for code in CODES[served.name]:
        for body, malformed in corpus(size):
            sent = request(f"/api/{code}", body, "Content-Type: application/json", *headers)
            answer = await exchange(served.host, served.port, sent)
            TALLY.record(FAMILY, served.name, answer.answer)
            assert answer.answer in (("4xx",) if malformed else ("2xx", "4xx")), (code, body[:80], answer.raw[:300])


async def test_the_chat_refuses_every_malformed_body_with_a_4xx(chat: Served) -> None:
    await attack(chat, "short", tuple(f"{k}: {v}" for k, v in chat.auth.items()))


async def test_the_gateway_refuses_every_malformed_body_with_a_4xx(gateway: GatewayStack) -> None:
    await attack(gateway.gateway, "short", ())


@pytest.mark.slow
async def test_the_long_corpus_against_both(chat: Served, gateway: GatewayStack) -> None:
    await attack(chat, "long", tuple(f"{k}: {v}" for k, v in chat.auth.items()))
    await attack(gateway.gateway, "long", ())
