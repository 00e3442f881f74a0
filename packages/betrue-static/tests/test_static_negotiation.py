"""Accept-Encoding, If-None-Match, If-Modified-Since and Range parsing (betrue.static.negotiation)."""

from __future__ import annotations

import pytest

from betrue.static.negotiation import encodings_preferred, etag_matches, modified_since, parse_range


@pytest.mark.parametrize(
    ("header", "preferred"),
    [
        ("gzip, deflate, br, zstd", ("br", "gzip")),
        ("gzip", ("gzip",)),
        ("GZIP", ("gzip",)),
        ("x-gzip", ("gzip",)),
        ("br;q=0.5, gzip;q=0.8", ("gzip", "br")),
        ("br;q=0, gzip", ("gzip",)),
        ("*", ("br", "gzip")),
        ("*;q=0", ()),
        ("br;q=0, *", ("gzip",)),
        ("identity", ()),
        ("deflate", ()),
        ("gzip;q=abc", ()),
        ("", ()),
    ],
)
def test_encodings_preferred(header: str, preferred: tuple[str, ...]) -> None:
    assert encodings_preferred(header) == preferred


def test_etag_matching_is_weak_and_handles_lists_and_star() -> None:
    tags = frozenset({'"abc"', '"abc-gzip"'})
    assert etag_matches('"abc"', tags)
    assert etag_matches('W/"abc-gzip"', tags)
    assert etag_matches('"zzz", "abc"', tags)
    assert etag_matches("*", tags)
    assert not etag_matches('"zzz"', tags)
    assert not etag_matches("abc", tags)


def test_modified_since() -> None:
    assert not modified_since("Thu, 01 Jan 1970 00:16:40 GMT", 1000.0)
    assert not modified_since("Thu, 01 Jan 1970 00:16:40 GMT", 1000.9)  # HTTP dates have whole seconds
    assert modified_since("Thu, 01 Jan 1970 00:16:39 GMT", 1000.0)
    assert modified_since("yesterday", 1000.0)


@pytest.mark.parametrize(
    ("header", "chosen"),
    [
        ("bytes=0-99", (0, 99)),
        ("bytes=100-", (100, 999)),
        ("bytes=-100", (900, 999)),
        ("bytes=-5000", (0, 999)),
        ("bytes=990-2000", (990, 999)),
        ("bytes=999-999", (999, 999)),
        ("bytes=1000-", False),
        ("bytes=-0", False),
        ("bytes=" + "9" * 5000 + "-", False),
        ("bytes=5-1", None),
        ("bytes=0-1,5-9", None),
        ("items=0-1", None),
        ("bytes=a-b", None),
        ("bytes=+1-2", None),
        ("bytes=1_0-20", None),
        ("bytes=", None),
        ("bytes=-", None),
    ],
)
def test_parse_range(header: str, chosen: object) -> None:
    assert parse_range(header, 1000) == chosen


def test_any_range_of_an_empty_file_cannot_be_satisfied() -> None:
    assert parse_range("bytes=0-", 0) is False
    assert parse_range("bytes=-1", 0) is False
