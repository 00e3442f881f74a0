"""What the OpenAPI document says about streams and authorization: multipart bodies, binary answers, schemes."""

from __future__ import annotations

from typing import Any

from openapi_spec_validator import validate

from betrue.server import (
    ApiKeyAuthenticator,
    Application,
    Group,
    JwtAuthenticator,
    Response,
    StreamSpec,
    openapi_document,
    use_auth,
)

ROOM = {"type": "object", "properties": {"room": {"type": "string"}}, "required": ["room"]}


def make_app() -> Application:
    files = Group("files")

    @files.command("put", stream=StreamSpec(content_types=["image/png", "image/jpeg"], fields=ROOM))
    async def put(params: Any, ctx: Any) -> dict[str, Any]:
        return {}

    @files.command("get", input={"type": "object"}, stream=StreamSpec.downloads("image/png"), auth=["viewer"])
    async def get(params: Any, ctx: Any) -> Response:
        return Response()

    app = Application("files", groups=[files], http=False, environ={}, env_file=None)
    use_auth(app, JwtAuthenticator, ApiKeyAuthenticator)
    return app


def test_uploads_are_multipart_bodies_and_downloads_binary_answers() -> None:
    document = openapi_document(make_app())
    validate(document)
    put = document["paths"]["/api/files/put"]["post"]
    form = put["requestBody"]["content"]["multipart/form-data"]
    assert form["schema"]["properties"]["file"] == {"type": "string", "format": "binary"}
    assert form["schema"]["properties"]["room"] == {"type": "string"}
    assert form["encoding"]["file"]["contentType"] == "image/png, image/jpeg"
    assert set(put["requestBody"]["content"]) == {"multipart/form-data", "image/png", "image/jpeg"}
    get = document["paths"]["/api/files/get"]["post"]
    assert get["responses"]["200"]["content"] == {"image/png": {"schema": {"type": "string", "format": "binary"}}}
    assert get["x-betrue-roles"] == ["viewer"]


def test_the_security_schemes_are_the_apps_authenticators() -> None:
    document = openapi_document(make_app())
    assert document["components"]["securitySchemes"] == {
        "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
        "apiKeyAuth": {"type": "apiKey", "in": "header", "name": "x-api-key"},
    }
    assert document["security"] == [{"bearerAuth": []}, {"apiKeyAuth": []}]
