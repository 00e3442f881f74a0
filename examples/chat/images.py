"""What an uploaded file is, from its first bytes (its "magic"), not from what the browser claimed."""

from __future__ import annotations

__all__ = ["HEAD_SIZE", "IMAGE_TYPES", "sniff"]

IMAGE_TYPES = ["image/png", "image/jpeg", "image/gif", "image/webp"]
HEAD_SIZE = 12
"""Bytes of a file's start that ``sniff`` needs."""

_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


def sniff(head: bytes) -> str | None:
    """The image type whose signature ``head`` starts with; None when it is no PNG, JPEG, GIF or WebP.

    Example:
        >>> sniff(b"\\x89PNG\\r\\n\\x1a\\n...."), sniff(b"RIFF\\x00\\x00\\x00\\x00WEBPVP8 "), sniff(b"<html>")
        ('image/png', 'image/webp', None)
    """
    for signature, media_type in _SIGNATURES:
        if head.startswith(signature):
            return media_type
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None
