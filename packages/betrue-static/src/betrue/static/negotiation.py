"""Reading the request headers a static response depends on: Accept-Encoding, If-None-Match, Range."""

from __future__ import annotations

from email.utils import parsedate_to_datetime
from typing import Literal

__all__ = ["ByteRange", "encodings_preferred", "etag_matches", "modified_since", "parse_range"]

_SERVER_ORDER = ("br", "gzip")
_ALIASES = {"x-gzip": "gzip"}


def encodings_preferred(accept_encoding: str) -> tuple[str, ...]:
    """The encodings we have (``br``, ``gzip``) the client accepts, best first.

    Higher ``q`` wins; on a tie brotli comes first (smaller). ``q=0`` refuses a coding, ``*``
    stands for the codings not named.

    Example:
        >>> encodings_preferred("gzip, deflate, br"), encodings_preferred("br;q=0, *")
        (('br', 'gzip'), ('gzip',))
    """
    weights: dict[str, float] = {}
    for item in accept_encoding.split(","):
        coding, _, params = item.partition(";")
        coding = coding.strip().lower()
        coding = _ALIASES.get(coding, coding)
        quality = 1.0
        params = params.strip().lower()
        if params.startswith("q="):
            try:
                quality = float(params[2:])
            except ValueError:
                continue
        if coding:
            weights[coding] = quality
    star = weights.get("*")
    ranked = []
    for rank, coding in enumerate(_SERVER_ORDER):
        quality = weights.get(coding, star if star is not None else 0.0)
        if quality > 0:
            ranked.append((-quality, rank, coding))
    return tuple(coding for _, _, coding in sorted(ranked))


def etag_matches(if_none_match: str, etags: frozenset[str]) -> bool:
    """Weak comparison of an If-None-Match list with an asset's ETags (RFC 9110 §13.1.2).

    Example:
        >>> etag_matches('W/"abc", "def"', frozenset({'"abc"'})), etag_matches("*", frozenset())
        (True, True)
    """
    if if_none_match in etags:
        return True
    for candidate in if_none_match.split(","):
        tag = candidate.strip()
        if tag == "*":
            return True
        if tag.startswith("W/"):
            tag = tag[2:]
        if tag in etags:
            return True
    return False


def modified_since(if_modified_since: str, mtime: float) -> bool:
    """False when the file has not changed since the date (a 304); True when it has or the date is bad."""
    try:
        since = parsedate_to_datetime(if_modified_since).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return True
    return int(mtime) > since


ByteRange = tuple[int, int]
"""An inclusive ``(first, last)`` byte range."""


def parse_range(header: str, size: int) -> ByteRange | Literal[False] | None:
    """The range a ``Range`` header asks for.

    Returns ``(first, last)`` for one satisfiable range, ``False`` when it cannot be satisfied
    (416), and ``None`` when the header is to be ignored (not bytes, malformed, or several
    ranges: the whole file is sent, which RFC 9110 allows).

    Example:
        >>> parse_range("bytes=0-99", 1000), parse_range("bytes=-100", 1000), parse_range("bytes=2000-", 1000)
        ((0, 99), (900, 999), False)
    """
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first_text, dash, last_text = spec.strip().partition("-")
    first_text, last_text = first_text.strip(), last_text.strip()
    if not dash or not all(_digits(text) for text in (first_text, last_text) if text):
        return None
    if not first_text:  # a suffix: the last N bytes
        if not last_text:
            return None
        length = _number(last_text)
        if length <= 0 or not size:
            return False
        return max(0, size - length), size - 1
    first = _number(first_text)
    if last_text and _number(last_text) < first:
        return None  # syntactically invalid: ignored, as RFC 9110 says
    if first >= size:
        return False
    last = _number(last_text) if last_text else size - 1
    return first, min(last, size - 1)


def _digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def _number(text: str) -> int:
    # Past 18 digits every position is beyond any file (and int() refuses 4300+ digits).
    return int(text) if len(text) <= 18 else 10**18
