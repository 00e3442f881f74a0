"""The OpenAPI 3.1 document of an app's commands (betrue.server.docs._openapi)."""

from __future__ import annotations

from typing import Any

import pytest
from openapi_spec_validator import validate
from pydantic import BaseModel, Field

from betrue.server import (
    Application,
    Command,
    Conflict,
    Context,
    Group,
    NotFound,
    Service,
    encode_json,
    openapi_document,
)


class Tag(BaseModel):
    name: str = Field(min_length=1)


class Item(BaseModel):
    """An item of the shop."""

    id: int
    title: str
    tags: list[Tag] = []


class Node(BaseModel):
    value: int
    children: list[Node] = []


class RoomFull(Conflict):
    """The room has no free seat."""

    status = "RoomFull"


def _app(**options: Any) -> Application:
    shop = Group("shop", description="Items for sale")

    @shop.command("create", input=Item, output=Item, errors=[Conflict, RoomFull], description="Create an item")
    async def create(params: Item, ctx: Context) -> Item:
        return params

    @shop.command(
        "search",
        input={"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]},
        output={"type": "array", "items": {"$ref": "#/$defs/Hit"}, "$defs": {"Hit": {"type": "string"}}},
        errors=[NotFound],
        auth="authenticated",
        idempotent=True,
    )
    async def search(params: dict[str, Any], ctx: Context) -> list[str]:
        return []

    @shop.command("tree", input=Node, auth=["admin", "editor"])
    async def tree(params: Node, ctx: Context) -> None:
        return None

    @shop.command("ping", auth="public")
    async def ping(params: dict[str, Any], ctx: Context) -> str:
        """Answer pong."""
        return "pong"

    async def count(params: Any, ctx: Context) -> int:
        return 0

    app = Application("shop", groups=[shop], http=False, **options)
    app.add_command(Command(code="stats/count", handler=count, output={"type": "integer"}))
    return app


def test_the_document_validates_against_openapi_3_1() -> None:
    document = openapi_document(_app())
    validate(document)
    assert document["openapi"] == "3.1.0"
    assert document["info"]["title"] == "shop"
    assert "servers" not in document  # "Try it out" calls the server that served the document


def test_one_post_path_per_visible_command_tagged_by_group() -> None:
    document = openapi_document(_app())
    assert sorted(document["paths"]) == [
        "/api/shop/create",
        "/api/shop/ping",
        "/api/shop/search",
        "/api/shop/tree",
        "/api/stats/count",
    ]
    assert all(list(item) == ["post"] for item in document["paths"].values())
    assert document["paths"]["/api/stats/count"]["post"]["tags"] == ["stats"]
    assert {"name": "shop", "description": "Items for sale"} in document["tags"]
    assert document["paths"]["/api/shop/ping"]["post"]["summary"] == "Answer pong."


def test_hidden_commands_are_left_out_unless_asked() -> None:
    app = _app()
    assert not any(path.startswith("/api/_app/") for path in openapi_document(app)["paths"])
    assert "/api/_app/health" in openapi_document(app, include_hidden=True)["paths"]


def test_pydantic_models_become_components_with_their_defs_hoisted() -> None:
    document = openapi_document(_app())
    schemas = document["components"]["schemas"]
    create = document["paths"]["/api/shop/create"]["post"]
    assert create["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Item"}
    result = create["responses"]["200"]["content"]["application/json"]["schema"]["properties"]["result"]
    assert result == {"$ref": "#/components/schemas/Item"}
    assert schemas["Item"]["properties"]["tags"]["items"] == {"$ref": "#/components/schemas/Tag"}
    assert schemas["Node"]["properties"]["children"]["items"] == {"$ref": "#/components/schemas/Node"}
    assert "$defs" not in encode_json(document).decode()


def test_output_sits_inside_the_success_envelope() -> None:
    search = openapi_document(_app())["paths"]["/api/shop/search"]["post"]
    envelope = search["responses"]["200"]["content"]["application/json"]["schema"]
    assert envelope["required"] == ["code", "status", "result", "traceId"]
    assert envelope["properties"]["result"] == {"type": "array", "items": {"$ref": "#/components/schemas/Hit"}}


def test_each_declared_error_is_a_response_with_the_error_envelope() -> None:
    document = openapi_document(_app())
    create = document["paths"]["/api/shop/create"]["post"]["responses"]
    assert set(create) == {"200", "400", "409", "500", "default"}
    conflict = create["409"]
    assert "RoomFull: The room has no free seat." in conflict["description"]
    schema = conflict["content"]["application/json"]["schema"]
    assert schema["allOf"][0] == {"$ref": "#/components/schemas/ErrorEnvelope"}
    assert schema["allOf"][1]["properties"]["status"]["examples"] == ["Conflict", "RoomFull"]
    assert "404" in document["paths"]["/api/shop/search"]["post"]["responses"]
    envelope = document["components"]["schemas"]["ErrorEnvelope"]
    assert envelope["required"] == ["code", "status", "error", "traceId"]


def test_auth_requirements() -> None:
    document = openapi_document(_app())
    assert document["components"]["securitySchemes"] == {
        "bearerAuth": {**document["components"]["securitySchemes"]["bearerAuth"]}
    }
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    paths = document["paths"]
    assert paths["/api/shop/search"]["post"]["security"] == [{"bearerAuth": []}]
    assert {"401", "403"} <= set(paths["/api/shop/search"]["post"]["responses"])
    assert paths["/api/shop/tree"]["post"]["x-betrue-roles"] == ["admin", "editor"]
    assert "admin, editor" in paths["/api/shop/tree"]["post"]["description"]
    assert paths["/api/shop/ping"]["post"]["security"] == []
    assert "security" not in paths["/api/stats/count"]["post"]  # no rule and no auth service: open
    assert "security" not in document  # no app-wide default without an auth service
    assert paths["/api/shop/search"]["post"]["x-betrue-idempotent"] is True


def test_an_auth_service_makes_commands_without_a_rule_need_a_caller() -> None:
    app = _app()

    class Auth(Service):
        name = "auth"

    app.add_service(Auth)
    document = openapi_document(app)
    validate(document)
    assert document["security"] == [{"bearerAuth": []}]
    assert document["paths"]["/api/stats/count"]["post"]["security"] == [{"bearerAuth": []}]
    assert document["paths"]["/api/shop/ping"]["post"]["security"] == []


def test_no_security_scheme_when_nothing_needs_a_caller() -> None:
    group = Group("open")

    @group.command("hello")
    async def hello(params: Any, ctx: Context) -> str:
        return "hi"

    document = openapi_document(Application("open", groups=[group], http=False))
    validate(document)
    assert "securitySchemes" not in document["components"]


def test_custom_security_schemes_and_api_prefix() -> None:
    schemes = {"apiKey": {"type": "apiKey", "in": "header", "name": "X-Key"}}
    document = openapi_document(_app(), security_schemes=schemes, api_prefix="/rpc/", title="Shop API", version="2.1")
    validate(document)
    assert document["info"]["title"] == "Shop API"
    assert document["info"]["version"] == "2.1"
    assert document["paths"]["/rpc/shop/search"]["post"]["security"] == [{"apiKey": []}]


def test_a_command_without_input_takes_an_optional_object() -> None:
    body = openapi_document(_app())["paths"]["/api/stats/count"]["post"]["requestBody"]
    assert body == {"required": False, "content": {"application/json": {"schema": {"type": "object"}}}}


def test_models_with_the_same_name_but_different_shapes_both_survive() -> None:
    first, second = Group("a"), Group("b")

    class Hit(BaseModel):
        text: str

    @first.command("find", output=Hit)
    async def find(params: Any, ctx: Context) -> Any:
        return None

    class Other(BaseModel):
        hit: Hit2

    class Hit2(BaseModel):
        score: float

    Hit2.__name__ = "Hit"
    Other.model_rebuild()

    @second.command("rank", output=Other)
    async def rank(params: Any, ctx: Context) -> Any:
        return None

    document = openapi_document(Application("x", groups=[first, second], http=False))
    validate(document)
    schemas = document["components"]["schemas"]
    assert {"Hit", "Hit2", "Other"} <= set(schemas)
    assert schemas["Other"]["properties"]["hit"] == {"$ref": "#/components/schemas/Hit2"}


@pytest.mark.parametrize("schema", [{"type": "strng"}, {"$ref": "https://example.com/remote.json"}])
def test_a_bad_schema_fails_with_the_command_named(schema: dict[str, Any]) -> None:
    group = Group("bad")

    @group.command("one", input=schema)
    async def one(params: Any, ctx: Context) -> None:
        return None

    with pytest.raises(Exception, match="bad/one"):
        openapi_document(Application("bad", groups=[group], http=False))
