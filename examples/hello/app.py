"""A tiny betrue app: a greeter service with its own config, and two commands.

Run it from the repository root and call it::

    betrue run examples.hello.app:app
    curl -s -X POST http://127.0.0.1:3000/api/hello/greet -H 'Content-Type: application/json' -d '{"name": "Ann"}'
"""

from __future__ import annotations

from typing import Any

from betrue.config import Config, env
from betrue.server import Application, Context, Group, NotFound, Service


class GreeterConfig(Config):
    """Greeter"""

    greeting: str = env("GREETING", "Hello", description="The word each greeting starts with")


class Greeter(Service):
    """Greets people and remembers how many times each one was greeted."""

    name = "greeter"
    config_class = GreeterConfig
    config: GreeterConfig

    async def start(self) -> Greeter:
        self.counts: dict[str, int] = {}
        return self

    def greet(self, who: str) -> str:
        self.counts[who] = self.counts.get(who, 0) + 1
        return f"{self.config.greeting}, {who}!"


hello = Group("hello", description="Greetings")


@hello.command(
    "greet",
    input={
        "type": "object",
        "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 100}},
        "additionalProperties": False,
    },
    output={"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]},
)
async def greet(params: dict[str, Any], ctx: Context) -> dict[str, str]:
    """Greet someone (the world, by default)."""
    greeter: Greeter = await ctx.service("greeter")
    return {"text": greeter.greet(params.get("name", "world"))}


@hello.command(
    "count",
    input={"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]},
    output={"type": "object", "properties": {"count": {"type": "integer"}}, "required": ["count"]},
    errors=[NotFound],
)
async def count(params: dict[str, Any], ctx: Context) -> dict[str, int]:
    """How many times someone was greeted; NotFound when never."""
    greeter: Greeter = await ctx.service("greeter")
    if params["name"] not in greeter.counts:
        raise NotFound(f"{params['name']} was never greeted", details={"name": params["name"]})
    return {"count": greeter.counts[params["name"]]}


app = Application("hello", groups=[hello])
app.add_service(Greeter)
