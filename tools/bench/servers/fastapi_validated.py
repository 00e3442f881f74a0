"""Baseline: FastAPI with the same shape as a pydantic model, served by uvicorn (see the comparison for flags).

The idiomatic fast path of current FastAPI: a pydantic body parameter and a pydantic return type, which
FastAPI serializes straight to JSON bytes in pydantic-core. Run:
``python -m uvicorn tools.bench.servers.fastapi_validated:app --port 8080 --log-level warning --no-access-log``.
"""

from __future__ import annotations

import os

from fastapi import FastAPI, Request, Response
from pydantic import BaseModel, Field

from tools.bench.servers.payload import Order

__all__ = ["Envelope", "app"]


class Envelope(BaseModel):
    """betrue's success envelope, for the order."""

    code: int
    status: str
    result: Order
    trace_id: str = Field(serialization_alias="traceId")


app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)


@app.post("/api/bench/order", response_model_by_alias=True)
async def order(params: Order, request: Request, response: Response) -> Envelope:
    trace_id = request.headers.get("x-trace-id") or os.urandom(16).hex()
    response.headers["x-trace-id"] = trace_id
    return Envelope(code=200, status="Success", result=params, trace_id=trace_id)
