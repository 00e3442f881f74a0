"""The 10-field object every ``http-validated-*`` server accepts: one JSON Schema, one pydantic twin, one body.

Example:
    >>> import jsonschema_rs, orjson
    >>> jsonschema_rs.validator_for(SCHEMA).is_valid(orjson.loads(BODY))
    True
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field

__all__ = ["BODY", "PARAMS", "SCHEMA", "Order"]

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {"type": "integer", "minimum": 1},
        "customer": {"type": "string", "minLength": 1, "maxLength": 64},
        "email": {"type": "string", "maxLength": 254, "pattern": "^[^@\\s]+@[^@\\s]+$"},
        "quantity": {"type": "integer", "minimum": 1, "maximum": 1000},
        "price": {"type": "number", "minimum": 0},
        "currency": {"enum": ["EUR", "USD", "GBP"]},
        "express": {"type": "boolean"},
        "tags": {"type": "array", "items": {"type": "string", "maxLength": 32}, "maxItems": 10},
        "note": {"type": "string", "maxLength": 500},
        "created": {"type": "string", "maxLength": 40},
    },
    "required": ["id", "customer", "email", "quantity", "price", "currency", "express", "tags", "note", "created"],
    "additionalProperties": False,
}


class Order(BaseModel):
    """The same shape as ``SCHEMA``, for pydantic (FastAPI)."""

    model_config = ConfigDict(extra="forbid")

    id: int = Field(ge=1)
    customer: str = Field(min_length=1, max_length=64)
    email: str = Field(max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")
    quantity: int = Field(ge=1, le=1000)
    price: float = Field(ge=0)
    currency: Literal["EUR", "USD", "GBP"]
    express: bool
    tags: list[Annotated[str, Field(max_length=32)]] = Field(max_length=10)
    note: str = Field(max_length=500)
    created: str = Field(max_length=40)


PARAMS: dict[str, Any] = {
    "id": 4211,
    "customer": "Ada Lovelace",
    "email": "ada@example.org",
    "quantity": 3,
    "price": 19.99,
    "currency": "EUR",
    "express": True,
    "tags": ["books", "gift"],
    "note": "leave at the door",
    "created": "2024-05-01T10:00:00Z",
}
BODY: bytes = orjson.dumps(PARAMS)
