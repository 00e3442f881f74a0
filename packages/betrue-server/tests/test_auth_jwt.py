"""Bearer tokens over real HTTP: every outcome (none, malformed, expired, bad signature, wrong audience, role, good)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from betrue.config import ConfigError
from betrue.server import Application, Context, Group
from betrue.server.auth import JwtAuthenticator, issue_token, use_auth
from betrue.server.testing import http_client

SECRET = "hs256-secret-for-tests-" + "x" * 20
AUDIENCE = "shop"


def make_app(environ: dict[str, str] | None = None) -> Application:
    shop = Group("shop")

    @shop.command("orders", description="Any signed-in caller")
    async def orders(params: Any, ctx: Context) -> dict[str, Any]:
        assert ctx.identity is not None
        return {"subject": ctx.identity.subject, "roles": list(ctx.identity.roles)}

    @shop.command("purge", auth=["admin"])
    async def purge(params: Any, ctx: Context) -> dict[str, Any]:
        return {"purged": True}

    env = {"JWT_SECRET": SECRET, "JWT_AUDIENCE": AUDIENCE, **(environ or {})}
    app = Application("shop", groups=[shop], environ=env, env_file=None)
    use_auth(app, JwtAuthenticator)
    return app


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


MEMBER = issue_token(SECRET, "ann", roles=["member"], audience=AUDIENCE)
OUTCOMES: list[tuple[str, dict[str, str], int, dict[str, str] | None]] = [
    ("none", {}, 401, {"reason": "missing"}),
    ("malformed", bearer("not-a-token"), 401, {"reason": "malformed"}),
    ("empty bearer", {"Authorization": "Bearer "}, 401, {"reason": "malformed"}),
    ("expired", bearer(issue_token(SECRET, "ann", audience=AUDIENCE, ttl=60, now=time.time() - 3600)), 401, None),
    ("wrong signature", bearer(issue_token("another-secret-" + "y" * 20, "ann", audience=AUDIENCE)), 401, None),
    ("wrong audience", bearer(issue_token(SECRET, "ann", audience="billing")), 401, None),
    ("good but wrong role", bearer(MEMBER), 403, {"reason": "missing_role"}),
    ("good", bearer(issue_token(SECRET, "bob", roles=["admin"], audience=AUDIENCE)), 200, None),
]
REASONS = {"expired": "expired", "wrong signature": "bad_signature", "wrong audience": "wrong_audience"}


async def test_every_outcome_of_a_bearer_token_over_http() -> None:
    async with http_client(make_app()) as client:
        for name, headers, status, details in OUTCOMES:
            reply = await client.post("shop/purge", headers=headers)
            assert reply.status == status, name
            if status == 200:
                assert reply.envelope["result"] == {"purged": True}
                continue
            expected = details or {"reason": REASONS[name]}
            assert reply.envelope["error"]["details"] == expected, name  # a reason code, nothing more
            assert reply.envelope["status"] == ("Unauthorized" if status == 401 else "Forbidden")


async def test_the_identity_reaches_the_handler() -> None:
    async with http_client(make_app()) as client:
        reply = await client.post("shop/orders", headers=bearer(MEMBER))
    assert reply.envelope["result"] == {"subject": "ann", "roles": ["member"]}


async def test_clock_skew_is_tolerated_up_to_the_leeway() -> None:
    just_expired = issue_token(SECRET, "ann", audience=AUDIENCE, ttl=60, now=time.time() - 70)
    async with http_client(make_app({"JWT_LEEWAY": "30"})) as client:
        assert (await client.post("shop/orders", headers=bearer(just_expired))).status == 200
    async with http_client(make_app({"JWT_LEEWAY": "0"})) as client:
        assert (await client.post("shop/orders", headers=bearer(just_expired))).status == 401


async def test_the_issuer_is_checked_when_configured() -> None:
    async with http_client(make_app({"JWT_ISSUER": "https://login.example"})) as client:
        wrong = issue_token(SECRET, "ann", audience=AUDIENCE, issuer="https://evil.example")
        reply = await client.post("shop/orders", headers=bearer(wrong))
        assert reply.envelope["error"]["details"] == {"reason": "wrong_issuer"}
        right = issue_token(SECRET, "ann", audience=AUDIENCE, issuer="https://login.example")
        assert (await client.post("shop/orders", headers=bearer(right))).status == 200


async def test_only_the_configured_algorithm_is_accepted() -> None:
    unsigned = jwt.encode({"sub": "ann", "aud": AUDIENCE, "exp": time.time() + 60}, "", algorithm="none")
    hs512 = issue_token(SECRET * 2, "ann", audience=AUDIENCE, algorithm="HS512")
    async with http_client(make_app()) as client:
        for token in (unsigned, hs512):
            reply = await client.post("shop/orders", headers=bearer(token))
            assert reply.envelope["error"]["details"] == {"reason": "bad_algorithm"}


async def test_other_authorization_schemes_are_not_bearer_tokens() -> None:
    async with http_client(make_app()) as client:
        reply = await client.post("shop/orders", headers={"Authorization": "Basic YW5uOnB3"})
    assert reply.envelope["error"]["details"] == {"reason": "missing"}


def hs256_by_hand(key: bytes, claims: dict[str, Any]) -> str:
    """An HS256 token made without PyJWT, which refuses a PEM as an HMAC key (the key-confusion attack)."""

    def part(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    body = {**claims, "exp": int(time.time()) + 60}
    signing = f"{part(json.dumps({'alg': 'HS256', 'typ': 'JWT'}).encode())}.{part(json.dumps(body).encode())}"
    return f"{signing}.{part(hmac.new(key, signing.encode(), hashlib.sha256).digest())}"


def pem_pair(private: Any) -> tuple[str, str]:
    private_pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public_pem = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private_pem, public_pem


@pytest.mark.parametrize("algorithm", ["RS256", "EdDSA"])
async def test_asymmetric_tokens_verify_with_the_public_key_only(algorithm: str, tmp_path: Any) -> None:
    key = rsa.generate_private_key(65537, 2048) if algorithm == "RS256" else ed25519.Ed25519PrivateKey.generate()
    private_pem, public_pem = pem_pair(key)
    (tmp_path / "public.pem").write_text(public_pem)
    verifier = make_app({"JWT_ALGORITHM": algorithm, "JWT_PUBLIC_KEY": str(tmp_path / "public.pem")})
    token = issue_token(private_pem, "ann", roles=["admin"], algorithm=algorithm, audience=AUDIENCE)
    async with http_client(verifier) as client:
        assert (await client.post("shop/purge", headers=bearer(token))).status == 200
        forged = hs256_by_hand(public_pem.encode(), {"sub": "ann", "roles": ["admin"], "aud": AUDIENCE})
        assert (await client.post("shop/purge", headers=bearer(forged))).status == 401  # key confusion
        jwt_auth: JwtAuthenticator = verifier.service("jwt")
        with pytest.raises(RuntimeError, match="cannot issue"):
            jwt_auth.issue("ann")


async def test_the_app_that_logs_users_in_issues_tokens_its_verifier_accepts() -> None:
    app = make_app({"JWT_TTL": "120"})
    async with http_client(app) as client:
        token = app.service("jwt").issue("carol", roles=["admin"], claims={"name": "Carol", "exp": 1})
        claims = jwt.decode(token, SECRET, algorithms=["HS256"], audience=AUDIENCE)
        assert claims["exp"] - claims["iat"] == 120  # a caller cannot override registered claims
        assert claims["name"] == "Carol"
        assert (await client.post("shop/purge", headers=bearer(token))).status == 200


def test_a_missing_secret_is_a_config_error_at_start() -> None:
    app = make_app({"JWT_SECRET": ""})
    app.loader.environ = {}
    with pytest.raises(ConfigError, match="JWT_SECRET"):
        asyncio.run(app.start(serve=False))
