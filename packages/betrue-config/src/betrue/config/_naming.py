"""Environment variable names under a context (an env prefix chosen when a service is added)."""

from __future__ import annotations

import re

PLACEHOLDER = "{context}"

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NOT_NAME_CHAR = re.compile(r"[^A-Za-z0-9]+")
_PLACEHOLDER_WITH_UNDERSCORE = re.compile(r"_\{context\}|\{context\}_|\{context\}")


def normalize_context(context: str | None) -> str:
    """Turn a service name or prefix into an env var prefix: upper case, `_` between words.

    >>> normalize_context("game-db")
    'GAME_DB'
    >>> normalize_context(None)
    ''
    """
    if not context:
        return ""
    return _NOT_NAME_CHAR.sub("_", context).strip("_").upper()


def check_env_template(template: str) -> str:
    """Return `template` if it is a valid env var name, with at most `{context}` as a placeholder.

    Raises:
        ValueError: the name has other characters or placeholders.
    """
    with_context = template.replace(PLACEHOLDER, "CONTEXT")
    without_context = _PLACEHOLDER_WITH_UNDERSCORE.sub("", template)
    if not _NAME.fullmatch(with_context) or not without_context.strip("_"):
        raise ValueError(
            f"invalid environment variable name {template!r}: use letters, digits and `_`, "
            f"optionally with the placeholder {PLACEHOLDER}"
        )
    return template


def resolve_env_name(template: str, context: str = "") -> str:
    """The env var name of `template` under `context`.

    Without a placeholder the context is a prefix; `{context}` puts it elsewhere, and with no
    context the placeholder goes away together with one adjacent `_`.

    >>> resolve_env_name("HTTP_PORT", "GAME")
    'GAME_HTTP_PORT'
    >>> resolve_env_name("DB_{context}_URL", "GAME")
    'DB_GAME_URL'
    >>> resolve_env_name("DB_{context}_URL")
    'DB_URL'
    """
    context = normalize_context(context)
    if PLACEHOLDER in template:
        if context:
            return template.replace(PLACEHOLDER, context)
        return _PLACEHOLDER_WITH_UNDERSCORE.sub("", template)
    return f"{context}_{template}" if context else template
