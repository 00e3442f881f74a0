"""``StaticConfig``: where a StaticService reads its files, where it serves them and how."""

from __future__ import annotations

from typing import Literal

from pydantic import ByteSize

from betrue.config import Config, env

__all__ = ["StaticConfig"]


class StaticConfig(Config):
    """Static files.

    Add the service under a context to run several of them with their own variables
    (``context="admin"`` reads ``ADMIN_STATIC_ROOT``), or set values with ``config={...}``.

    Example:
        >>> StaticConfig.from_dict({"root": "public", "prefix": "/assets"}).prefix
        '/assets'
    """

    root: str = env("STATIC_ROOT", "static", description="Folder whose files are served (loaded into memory at start)")
    prefix: str = env("STATIC_PREFIX", "/", description="URL path the files are served under", pattern=r"^/")
    case: Literal["sensitive", "insensitive"] = env(
        "STATIC_CASE",
        "sensitive",
        description="URL matching: 'sensitive' (App.css is not app.css) or 'insensitive' (any case finds the file)",
    )
    index: str = env("STATIC_INDEX", "index.html", description="File served for a folder (/docs and /docs/)")
    cache_control: str = env(
        "STATIC_CACHE_CONTROL",
        "no-cache",
        description="Cache-Control of every response; 'no-cache' makes browsers revalidate with the ETag",
    )
    memory_budget: ByteSize = env(
        "STATIC_MEMORY_BUDGET",
        ByteSize(256 * 1024 * 1024),
        description="Most bytes held in memory (files plus compressed copies), e.g. 64MiB; past it start fails",
    )
    compress: bool = env(
        "STATIC_COMPRESS", True, description="Keep gzip (and brotli, where installed) copies of compressible files"
    )
    compress_min_size: int = env(
        "STATIC_COMPRESS_MIN_SIZE", 256, description="Smallest file (bytes) worth compressing", ge=0
    )
    gzip_level: int = env("STATIC_GZIP_LEVEL", 9, description="gzip level of the precomputed copies", ge=1, le=9)
    brotli_quality: int = env(
        "STATIC_BROTLI_QUALITY", 9, description="brotli quality of the precomputed copies (11 is slow)", ge=0, le=11
    )
    dotfiles: bool = env(
        "STATIC_DOTFILES", False, description="Serve files and folders whose name starts with a dot (.env, .git)"
    )
    watch: bool = env(
        "STATIC_WATCH", False, description="Development: reload changed files without a restart (needs watchfiles)"
    )
    log_files: bool = env("STATIC_LOG_FILES", True, description="Log every file with its size at start")
