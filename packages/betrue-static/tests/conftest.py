"""Fixtures for betrue-static's tests: an app factory, a small site, a sample app with docs, captured logs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal

import pytest
from loguru import logger
from pydantic import BaseModel, Field

from betrue.server import Application, Conflict, Context, Group, NotFound, declare_event
from betrue.static import DocsService, StaticService


def _make_app(root: Path | str, name: str = "site", **config: Any) -> Application:
    app = Application(name, environ={"HTTP_PORT": "0"}, env_file=None)
    app.add_service(StaticService, config={"root": str(root), **config})
    return app


@pytest.fixture
def make_app() -> Callable[..., Application]:
    """``make_app(root, **config)``: an app with one StaticService on ``root``, on a free port."""
    return _make_app


@pytest.fixture
def log_lines() -> Iterator[list[str]]:
    """Every log message written while the test runs."""
    lines: list[str] = []
    sink = logger.add(lambda message: lines.append(message.record["message"]), format="{message}", level="DEBUG")
    yield lines
    logger.remove(sink)


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """A small site: an index page, a stylesheet, a folder with its own index, a script."""
    root = tmp_path / "site"
    (root / "css").mkdir(parents=True)
    (root / "guide").mkdir()
    (root / "index.html").write_text("<h1>home</h1>\n")
    (root / "css" / "App.css").write_text("body { color: #333; }\n" * 200)
    (root / "guide" / "index.html").write_text("<h1>guide</h1>\n")
    (root / "app.js").write_text("console.log('hi');\n")
    return root


class Item(BaseModel):
    """An item for sale."""

    name: str = Field(min_length=1, max_length=50)
    price: float = Field(ge=0)
    tags: list[str] = Field(default_factory=list, max_length=5)
    kind: Literal["book", "game"] = "book"


class StoredItem(Item):
    id: int


def _sample_app() -> Application:
    shop = Group("shop", description="A tiny shop")
    items: dict[int, StoredItem] = {}

    @shop.command("add", input=Item, output=StoredItem, errors=[Conflict], description="Add an item to the shop")
    async def add(params: Item, ctx: Context) -> StoredItem:
        if any(item.name == params.name for item in items.values()):
            raise Conflict("an item with this name exists", details={"name": params.name})
        stored = StoredItem(id=len(items) + 1, **params.model_dump())
        if len(items) < 1000:  # bounded: a fuzzer adds many
            items[stored.id] = stored
        return stored

    @shop.command(
        "get",
        input={
            "type": "object",
            "properties": {"id": {"type": "integer", "minimum": 1}},
            "required": ["id"],
            "additionalProperties": False,
        },
        output=StoredItem,
        errors=[NotFound],
        description="One item by id",
    )
    async def get(params: dict[str, Any], ctx: Context) -> StoredItem:
        item = items.get(params["id"])
        if item is None:
            raise NotFound("no such item", details={"id": params["id"]})
        return item

    @shop.command(
        "count",
        output={"type": "object", "properties": {"count": {"type": "integer"}}, "required": ["count"]},
        description="How many items there are",
    )
    async def count(params: Any, ctx: Context) -> dict[str, int]:
        return {"count": len(items)}

    util = Group("util", description="Utilities")

    @util.command(
        "echo",
        input={
            "type": "object",
            "properties": {
                "text": {"type": "string", "maxLength": 100},
                "email": {"type": "string", "format": "email"},
                "when": {"type": "string", "format": "date-time"},
            },
            "required": ["text"],
        },
        output={"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]},
        description="Say the text back",
    )
    async def echo(params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        return {"text": params["text"]}

    chat = Group("chat")
    declare_event(chat, "chat.message", schema=Item, description="Someone posted", to=["room"])
    app = Application(
        "sample", groups=[shop, util, chat], environ={"HTTP_PORT": "0", "LOG_CALLS": "off"}, env_file=None
    )
    app.add_service(DocsService)
    return app


@pytest.fixture
def sample_app() -> Application:
    """An app with a few commands (pydantic and JSON Schema, declared errors), an event and the docs."""
    return _sample_app()
