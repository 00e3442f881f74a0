"""Schemas as document components: definitions hoisted, pointers rewritten (betrue.server.docs._schemas)."""

from __future__ import annotations

from typing import Any

from betrue.server.docs._schemas import SchemaComponents


def test_defs_move_to_components_and_pointers_follow() -> None:
    components = SchemaComponents()
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": {"a": {"$ref": "#/$defs/A"}, "b": {"$ref": "#/definitions/B"}},
        "$defs": {"A": {"type": "object", "properties": {"b": {"$ref": "#/definitions/B"}}}},
        "definitions": {"B": {"type": "integer"}},
    }
    body = components.inline(schema, where="x/y")
    assert body == {
        "type": "object",
        "properties": {"a": {"$ref": "#/components/schemas/A"}, "b": {"$ref": "#/components/schemas/B"}},
    }
    assert components.schemas == {
        "A": {"type": "object", "properties": {"b": {"$ref": "#/components/schemas/B"}}},
        "B": {"type": "integer"},
    }


def test_equal_definitions_are_shared_and_different_ones_renamed() -> None:
    components = SchemaComponents()
    components.inline({"$defs": {"Id": {"type": "integer"}}, "$ref": "#/$defs/Id"}, where="a/one")
    same = components.inline({"$defs": {"Id": {"type": "integer"}}, "$ref": "#/$defs/Id"}, where="a/two")
    other = components.inline({"$defs": {"Id": {"type": "string"}}, "$ref": "#/$defs/Id"}, where="a/three")
    assert same == {"$ref": "#/components/schemas/Id"}
    assert other == {"$ref": "#/components/schemas/Id2"}
    assert components.schemas == {"Id": {"type": "integer"}, "Id2": {"type": "string"}}


def test_a_renamed_definition_renames_those_pointing_at_it() -> None:
    components = SchemaComponents()
    components.inline(
        {"$defs": {"Leaf": {"type": "integer"}, "Box": {"properties": {"x": {"$ref": "#/$defs/Leaf"}}}}}, where="a"
    )
    components.inline(
        {"$defs": {"Leaf": {"type": "string"}, "Box": {"properties": {"x": {"$ref": "#/$defs/Leaf"}}}}}, where="b"
    )
    assert components.schemas["Box2"] == {"properties": {"x": {"$ref": "#/components/schemas/Leaf2"}}}
    assert components.schemas["Box"] == {"properties": {"x": {"$ref": "#/components/schemas/Leaf"}}}


def test_a_schema_pointing_at_itself_becomes_a_component() -> None:
    components = SchemaComponents()
    tree: dict[str, Any] = {"type": "object", "properties": {"kids": {"type": "array", "items": {"$ref": "#"}}}}
    assert components.inline(tree, where="shop/tree") == {"$ref": "#/components/schemas/ShopTree"}
    assert components.schemas["ShopTree"]["properties"]["kids"]["items"] == {"$ref": "#/components/schemas/ShopTree"}


def test_unsafe_names_are_cleaned() -> None:
    components = SchemaComponents()
    body = components.inline(
        {"$defs": {"Généric[int]": {"type": "integer"}}, "$ref": "#/$defs/Généric[int]"}, where="a"
    )
    assert body == {"$ref": "#/components/schemas/G_n_ric_int_"}


def test_the_input_is_not_changed() -> None:
    schema = {"$defs": {"A": {"type": "integer"}}, "$ref": "#/$defs/A"}
    SchemaComponents().inline(schema, where="a")
    assert schema == {"$defs": {"A": {"type": "integer"}}, "$ref": "#/$defs/A"}
