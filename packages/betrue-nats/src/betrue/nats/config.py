"""NatsConfig: where the NATS servers are, how to authenticate, how to reconnect (service ``nats``)."""

from __future__ import annotations

from pydantic import SecretStr, field_validator

from betrue.config import Config, env

__all__ = ["NatsConfig"]

_SCHEMES = ("nats://", "tls://", "ws://", "wss://")


class NatsConfig(Config):
    """NATS connection"""

    url: list[str] = env(
        "NATS_URL",
        [],
        description="NATS servers (comma-separated nats:// or tls:// URLs); empty: embedded nats-server (dev)",
        example="nats://127.0.0.1:4222",
    )
    prefix: str = env(
        "NATS_PREFIX",
        "betrue",
        description="First subject token of every betrue subject (<prefix>.cmd.…, <prefix>.evt.…)",
        pattern=r"^[A-Za-z0-9_\-]+(\.[A-Za-z0-9_\-]+)*$",
    )
    name: str = env("NATS_NAME", "", description="Connection name shown by the NATS server; empty: the app's name")
    user: str = env("NATS_USER", "", description="User name (with NATS_PASSWORD)")
    password: SecretStr | None = env("NATS_PASSWORD", None, description="Password of NATS_USER")
    token: SecretStr | None = env("NATS_TOKEN", None, description="Authentication token")
    credentials: str = env("NATS_CREDENTIALS", "", description="Path of a .creds file (JWT + NKey seed)")
    tls_ca: str = env("NATS_TLS_CA", "", description="CA bundle to verify the servers with (tls://); empty: system CAs")
    tls_cert: str = env("NATS_TLS_CERT", "", description="Client certificate (mutual TLS)")
    tls_key: str = env("NATS_TLS_KEY", "", description="Key of NATS_TLS_CERT")
    connect_timeout: float = env("NATS_CONNECT_TIMEOUT", 2.0, description="Seconds to open a connection", ge=0.1)
    start_timeout: float = env(
        "NATS_START_TIMEOUT", 10.0, description="Seconds the app's start waits for the first connection", ge=0.1
    )
    reconnect_wait: float = env(
        "NATS_RECONNECT_WAIT", 0.25, description="First delay between reconnect attempts (doubles, with jitter)", ge=0
    )
    reconnect_wait_max: float = env(
        "NATS_RECONNECT_WAIT_MAX", 5.0, description="Longest delay between reconnect attempts", ge=0
    )
    max_reconnects: int = env(
        "NATS_MAX_RECONNECTS", -1, description="Reconnect attempts per server before giving up; -1: forever", ge=-1
    )
    drain_timeout: float = env(
        "NATS_DRAIN_TIMEOUT", 10.0, description="Seconds to drain subscriptions and in-flight requests at stop", ge=0
    )
    embedded_dir: str = env(
        "NATS_EMBEDDED_DIR",
        ".betrue/nats",
        description="Data folder of the embedded nats-server (JetStream), started when NATS_URL is empty",
    )
    embedded: bool = env(
        "NATS_EMBEDDED", True, description="Start an embedded nats-server when NATS_URL is empty (else: an error)"
    )

    @field_validator("url")
    @classmethod
    def _check_urls(cls, value: list[str]) -> list[str]:
        urls = [url.strip() for url in value if url.strip()]
        for url in urls:
            if "://" in url and not url.startswith(_SCHEMES):
                raise ValueError(f"{url!r}: a NATS server URL starts with nats://, tls://, ws:// or wss://")
        return [url if "://" in url else f"nats://{url}" for url in urls]
