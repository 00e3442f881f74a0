"""Command and event schemas as document components: ``$defs`` hoisted, ``$ref`` rewritten, names unique.

OpenAPI and AsyncAPI both keep reusable schemas under ``components.schemas``. A pydantic model's
JSON Schema carries its sub-models in ``$defs``; here they move to the components (so Swagger UI
lists them) and every ``#/$defs/X`` pointer follows them.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import pydantic

from betrue.server.types import Schema
from betrue.server.validation import Direction, compile_schema

__all__ = ["SchemaComponents"]

_DEFS_KEYS = ("$defs", "definitions")
_DROPPED = ("$schema", "$id")


class SchemaComponents:
    """Collects named schemas for a document's ``components.schemas``.

    Example:
        >>> components = SchemaComponents()
        >>> components.inline({"type": "object", "$defs": {"Id": {"type": "integer"}},
        ...                    "properties": {"id": {"$ref": "#/$defs/Id"}}}, where="x")
        {'type': 'object', 'properties': {'id': {'$ref': '#/components/schemas/Id'}}}
        >>> components.schemas
        {'Id': {'type': 'integer'}}
    """

    def __init__(self, prefix: str = "#/components/schemas/") -> None:
        self.prefix = prefix
        self.schemas: dict[str, Any] = {}

    def schema_of(self, schema: Schema, *, where: str, direction: Direction = "input") -> dict[str, Any] | None:
        """The document form of a command's schema (None stays None); a pydantic model becomes a ``$ref``."""
        if schema is None:
            return None
        json_schema = compile_schema(schema, where=where, direction=direction).json_schema
        if isinstance(schema, type) and issubclass(schema, pydantic.BaseModel):
            body = self.inline(json_schema, where=where)
            if "$ref" in body and len(body) == 1:
                return body
            return {"$ref": self.prefix + self.register(schema.__name__, body)}
        return self.inline(json_schema, where=where)

    def inline(self, schema: Mapping[str, Any], *, where: str) -> dict[str, Any]:
        """``schema`` with its definitions moved to the components and its pointers rewritten."""
        body = copy.deepcopy(dict(schema))
        for key in _DROPPED:
            body.pop(key, None)
        renames: dict[str, str] = {}
        mine: set[str] = set()  # names reserved by this call: not clashes
        definitions: list[tuple[str, str, Any]] = []
        for key in _DEFS_KEYS:
            for name, definition in (body.pop(key, None) or {}).items():
                definitions.append((key, name, definition))
        if _refers_to_root(body):
            # A schema that points at itself ("#") becomes a component so the pointer has a target.
            root = self._unique(_name_from(where))
            mine.add(root)
            renames["#"] = self.prefix + root
        names = {(key, name): _safe(name) for key, name, _ in definitions}
        while True:  # each round renames at least one clashing definition, so it ends
            for (key, name), chosen in names.items():
                renames[f"#/{key}/{name}"] = self.prefix + chosen
            rewritten = {(key, name): _rewrite(definition, renames) for key, name, definition in definitions}
            clashes = [
                pair
                for pair, chosen in names.items()
                if chosen in self.schemas and chosen not in mine and self.schemas[chosen] != rewritten[pair]
            ]
            taken: set[str] = set()
            for pair, chosen in names.items():  # two definitions of this schema under one safe name
                if chosen in taken:
                    clashes.append(pair)
                taken.add(chosen)
            if not clashes:
                break
            for pair in clashes:
                names[pair] = self._unique(pair[1])
                mine.add(names[pair])
        for pair, chosen in names.items():
            self.schemas[chosen] = rewritten[pair]
        body = dict(_rewrite(body, renames))
        if "#" in renames:
            self.schemas[renames["#"].removeprefix(self.prefix)] = body
            return {"$ref": renames["#"]}
        return body

    def register(self, name: str, schema: Any) -> str:
        """Put ``schema`` under ``name`` (or ``name2``… when another schema has it); returns the name used."""
        unique = self._unique(name, schema)
        self.schemas[unique] = schema
        return unique

    def _unique(self, name: str, schema: Any = None) -> str:
        base = _safe(name)
        candidate, counter = base, 1
        while candidate in self.schemas and (schema is None or self.schemas[candidate] != schema):
            counter += 1
            candidate = f"{base}{counter}"
        if schema is None:
            self.schemas[candidate] = {}  # reserved until filled in
        return candidate


def _safe(name: str) -> str:
    # Component names must match ^[a-zA-Z0-9.\-_]+$ (OpenAPI 3.1, AsyncAPI 3.0).
    cleaned = "".join(char if char.isascii() and (char.isalnum() or char in "._-") else "_" for char in name)
    return cleaned or "Schema"


def _name_from(where: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in where.replace("-", "/").replace(".", "/").split("/"))


def _refers_to_root(node: Any) -> bool:
    if isinstance(node, dict):
        return node.get("$ref") == "#" or any(_refers_to_root(value) for value in node.values())
    if isinstance(node, list):
        return any(_refers_to_root(item) for item in node)
    return False


def _rewrite(node: Any, renames: Mapping[str, str]) -> Any:
    if isinstance(node, dict):
        out = {key: _rewrite(value, renames) for key, value in node.items()}
        ref = out.get("$ref")
        if isinstance(ref, str) and ref in renames:
            out["$ref"] = renames[ref]
        return out
    if isinstance(node, list):
        return [_rewrite(item, renames) for item in node]
    return node
