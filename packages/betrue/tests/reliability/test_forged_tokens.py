"""Forged credentials: every token that is not one the app issued is a 401 over HTTP and WebSocket."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import aiohttp
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from .attack import TALLY, status_class
from .conftest import Served

FAMILY = "forged tokens"


def _b64(data: dict[str, Any] | bytes) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _hs256(claims: dict[str, Any], key: bytes) -> str:
    """HS256 signed with a public key as the secret (what pyjwt refuses to do, so done by hand)."""
    import hashlib
    import hmac

    signing = f"{_b64({'alg': 'HS256', 'typ': 'JWT'})}.{_b64(claims)}"
    return f"{signing}.{_b64(hmac.new(key, signing.encode(), hashlib.sha256).digest())}"


def forgeries(real: str, secret: str) -> list[tuple[str, str]]:
    now = int(time.time())
    claims = {"sub": "ann", "iat": now, "exp": now + 3600, "roles": ["member", "admin"]}
    header, payload, signature = real.split(".")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    tampered = _b64({**json.loads(base64.urlsafe_b64decode(payload + "==")), "sub": "admin"})
    return [
        ("alg none", f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}."),
        ("alg None", f"{_b64({'alg': 'None'})}.{_b64(claims)}."),
        ("wrong key", jwt.encode(claims, "not the secret at all, long enough", algorithm="HS256")),
        ("expired", jwt.encode({**claims, "exp": now - 3600, "iat": now - 7200}, secret, algorithm="HS256")),
        ("not yet valid", jwt.encode({**claims, "nbf": now + 3600}, secret, algorithm="HS256")),
        ("no exp", jwt.encode({"sub": "ann"}, secret, algorithm="HS256")),
        ("other algorithm", jwt.encode(claims, secret * 2, algorithm="HS512")),
        ("rs256 own key", jwt.encode(claims, pem, algorithm="RS256")),
        ("rs/hs confusion", _hs256(claims, public)),
        (
            "embedded jwk",
            jwt.encode(claims, pem, algorithm="RS256", headers={"jwk": {"kty": "RSA", "n": "x", "e": "AQAB"}}),
        ),
        ("jku", jwt.encode(claims, pem, algorithm="RS256", headers={"jku": "http://127.0.0.1:1/keys"})),
        ("kid traversal", jwt.encode(claims, "k" * 32, algorithm="HS256", headers={"kid": "../../dev/null"})),
        ("tampered payload", f"{header}.{tampered}.{signature}"),
        ("no signature", f"{header}.{payload}."),
        ("truncated", real[:-5]),
        ("two parts", f"{header}.{payload}"),
        ("garbage", "a.b.c"),
        ("empty", ""),
        ("huge", "x" * 20000),
        ("null bytes", f"{header}\x00.{payload}.{signature}"),
    ]


async def test_forged_tokens_are_401_over_http_and_websocket(chat: Served) -> None:
    secret = chat.app.service("jwt").config.secret.get_secret_value()
    async with aiohttp.ClientSession() as session:
        for name, token in forgeries(chat.token, secret):
            for scheme in ("Bearer", "bearer"):
                try:
                    headers = {"Authorization": f"{scheme} {token}", "Content-Type": "application/json"}
                except ValueError:
                    continue
                try:
                    async with session.post(f"{chat.url}/api/chat/rooms", data=b"{}", headers=headers) as reply:
                        status = reply.status
                except (aiohttp.ClientError, ValueError):
                    continue  # a header aiohttp itself will not send (NUL): nothing reached the server
                TALLY.record(FAMILY, "chat", status_class(status))
                assert status in (400, 401, 431), (name, status)
            async with session.ws_connect(chat.url + "/ws") as ws:
                await ws.send_json({"id": 1, "command": "_auth/identify", "params": {"token": token}})
                answer = await ws.receive_json(timeout=10)
                TALLY.record(FAMILY, "chat", status_class(answer["code"]))
                assert answer["code"] in (400, 401), (name, answer)
        for forged_identity in ("x-subject: admin", "x-identity: admin", "x-betrue-identity: {}"):
            name, value = forged_identity.split(": ")
            async with session.post(f"{chat.url}/api/chat/rooms", json={}, headers={name: value}) as reply:
                TALLY.record(FAMILY, "chat", status_class(reply.status))
                assert reply.status == 401, forged_identity
