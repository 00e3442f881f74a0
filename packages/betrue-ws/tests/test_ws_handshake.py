"""Which handshakes are accepted: origins."""

from __future__ import annotations

import pytest

from betrue.ws import OriginPolicy

HOST = "chat.example.com"


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        (None, True),  # not a browser: no cross-site risk
        ("https://chat.example.com", True),  # the page's own origin
        ("http://chat.example.com", True),  # same host behind a TLS-terminating proxy
        ("https://CHAT.example.com:443", True),  # case and the default port do not matter
        ("https://app.example.com", True),  # listed
        ("https://eu.partner.org", True),  # listed with a wildcard
        ("https://partner.org", False),  # the wildcard means subdomains only
        ("https://evilpartner.org", False),
        ("https://chat.example.com.evil.net", False),
        ("https://chat.example.com:8443", False),  # another port is another origin
        ("null", False),  # sandboxed frames and file:// pages
        ("https://evil.example", False),
    ],
)
def test_origins(origin: str | None, allowed: bool) -> None:
    policy = OriginPolicy(["https://app.example.com", "https://*.partner.org"])
    assert policy.allows(origin, host=HOST) is allowed


def test_a_star_allows_every_origin() -> None:
    assert OriginPolicy(["*"]).allows("https://anywhere.example", host=HOST)


def test_without_a_list_only_the_own_origin_and_non_browsers_get_in() -> None:
    policy = OriginPolicy()
    assert policy.allows("http://127.0.0.1:3000", host="127.0.0.1:3000")
    assert not policy.allows("http://localhost:3000", host="127.0.0.1:3000")
    assert policy.allows(None, host="127.0.0.1:3000")
