"""The gateway: serve other apps' commands as this app's own, listed in code or discovered from upstreams."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from loguru import logger

from betrue.server.client.transports.base import Transport
from betrue.server.errors import ServiceUnavailable, error_from_envelope
from betrue.server.gateway._proxy import describe_upstream, proxy_command
from betrue.server.gateway._upstreams import GatewayConfig, Upstream, parse_upstreams

if TYPE_CHECKING:
    from betrue.server.application import Application

__all__ = ["Gateway", "GatewayConfig", "Upstream", "parse_upstreams", "proxy"]


class Gateway:
    """Serves the commands of upstream apps (``app.proxy(...)``, ``GATEWAY_UPSTREAMS``) as its own.

    At start, then every ``GATEWAY_DISCOVERY_INTERVAL`` seconds, it reads each upstream's
    ``_app/commands`` and registers their commands with their schemas: the gateway validates input
    itself and its ``_app/commands`` and OpenAPI show them. An upstream that is down does not stop
    the gateway; its known commands (listed in code, or seen before) answer 503 until it is back,
    and so does any unknown command of a group routed to it.

    Example:
        >>> # app.proxy("game", ["load"], transport="http://127.0.0.1:3001")  # as in @be-true
        >>> # app.proxy("chat", transport="http://127.0.0.1:3002")             # every chat/* command
        >>> # app.proxy()   # only GATEWAY_UPSTREAMS=game=http://…,chat=http://…
    """

    def __init__(self, app: Application) -> None:
        self.app = app
        self.config = GatewayConfig.from_dict({})
        self.upstreams: dict[str, Upstream] = {}
        self.owned: dict[str, str] = {}
        """Code → upstream key of every command this gateway registered."""
        self.discovered = asyncio.Condition()
        """Notified after every reading of an upstream (``await g.discovered.wait_for(predicate)`` under it)."""
        self._task: asyncio.Task[None] | None = None

    def declare(
        self, group: str, names: Sequence[str] | None, target: str | Transport, *, from_config: bool = False
    ) -> Upstream:
        key = target if isinstance(target, str) else target.target
        upstream = self.upstreams.setdefault(key.rstrip("/"), Upstream(target, from_config=from_config))
        upstream.groups.add(group)
        previous = upstream.names.get(group, set())
        upstream.names[group] = None if names is None or previous is None else {*previous, *names}
        for name in names or ():
            self._register(upstream, {"code": f"{group}/{name}"})
        return upstream

    def configure(self, config: GatewayConfig, client: Any = None) -> Gateway:
        """The DI factory of service ``gateway``."""
        self.config = config
        return self

    async def start(self) -> Gateway:
        self.discovered = asyncio.Condition()  # of this run's event loop
        for group, url in parse_upstreams(self.config.upstreams):
            self.declare(group, None, url, from_config=True)
        await asyncio.gather(*(self.discover(upstream) for upstream in self.upstreams.values()))
        self.app.router.add_resolver(self.resolve)
        self._task = asyncio.create_task(self._rediscover(), name="betrue-gateway-discovery")
        return self

    async def stop(self) -> None:
        self.app.router.remove_resolver(self.resolve)
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        for key, upstream in list(self.upstreams.items()):
            if upstream.from_config:  # the next start reads GATEWAY_UPSTREAMS again, maybe other URLs
                for code in [code for code, owner in self.owned.items() if owner == key]:
                    self.app.remove_command(code)
                    del self.owned[code]
                del self.upstreams[key]
            else:
                upstream.up = upstream.tried = False
                upstream.next_try, upstream.discovering = 0.0, None

    def _transport(self, upstream: Upstream) -> Transport:
        target = upstream.target
        return self.app.client.transport(target) if isinstance(target, str) else target

    async def discover(self, upstream: Upstream) -> bool:
        """Read ``upstream``'s commands now and register what it serves; False when it is unreachable."""
        if upstream.discovering is not None:
            return await asyncio.shield(upstream.discovering)
        upstream.discovering = asyncio.get_running_loop().create_future()
        try:
            found = await self._discover(upstream)
            upstream.discovering.set_result(found)
            async with self.discovered:
                self.discovered.notify_all()
            return found
        finally:
            if not upstream.discovering.done():
                upstream.discovering.set_result(False)
            upstream.discovering = None

    async def _discover(self, upstream: Upstream) -> bool:
        transport = self._transport(upstream)
        deadline = time.time() + self.config.timeout
        try:
            envelope = await transport.call("_app/commands", {}, {}, deadline)
            if "error" in envelope:
                raise error_from_envelope(dict(envelope))
            listed = describe_upstream(envelope.get("result"))
        except Exception as error:
            upstream.next_try = time.monotonic() + self.config.retry_interval
            if upstream.up or not upstream.tried:
                logger.warning("upstream {} is down: {}", upstream.key, error)
            upstream.up, upstream.tried = False, True
            return False
        if not upstream.up:
            logger.info("upstream {} is up: {} commands", upstream.key, len(listed))
        upstream.up, upstream.tried = True, True
        upstream.known_groups = {description["code"].partition("/")[0] for description in listed}
        self._sync(upstream, [description for description in listed if upstream.wants(description["code"])])
        return True

    def _sync(self, upstream: Upstream, listed: list[dict[str, Any]]) -> None:
        wanted = {description["code"] for description in listed}
        for description in listed:
            self._register(upstream, description)
            self.app.client.learn_idempotent(description["code"], description.get("idempotent") is True)
        declared = {f"{group}/{name}" for group, names in upstream.names.items() for name in names or ()}
        for code, key in list(self.owned.items()):
            if key == upstream.key and code not in wanted and code not in declared:
                self.app.remove_command(code)
                del self.owned[code]
        for group in upstream.known_groups & upstream.groups | (
            upstream.known_groups if "*" in upstream.groups else set()
        ):
            self.app.client.route_if_unrouted(group, self._transport(upstream))

    def _register(self, upstream: Upstream, description: Mapping[str, Any]) -> None:
        code = description["code"]
        owner = self.owned.get(code)
        existing = self.app.commands.get(code)
        if existing is not None and owner is None:
            logger.warning("{} is a command of this app; upstream {} does not replace it", code, upstream.key)
            return
        if owner is not None and owner != upstream.key:
            logger.warning("{} is served by upstream {} already; {} is ignored for it", code, owner, upstream.key)
            return
        command = proxy_command(description, upstream.target)
        if existing is not None and existing.extra.get("upstream") == command.extra.get("upstream"):
            return  # the same description as last time: keep the running pipeline
        self.app.remove_command(code)
        self.app.add_command(command)
        self.owned[code] = upstream.key

    async def resolve(self, code: str) -> bool:
        """For ``Application.handle``: a code nobody serves yet; True once an upstream's discovery added it."""
        group = code.partition("/")[0]
        for upstream in self.upstreams.values():
            serves = group in upstream.groups or group in upstream.known_groups
            if not serves and not ("*" in upstream.groups and not upstream.known_groups):
                continue
            if not upstream.up and time.monotonic() >= upstream.next_try:
                await self.discover(upstream)
            if code in self.app.commands:
                return True
            if not upstream.up:
                message = f"upstream {upstream.key} is down"
                raise ServiceUnavailable(message, details={"reason": "upstream_down", "target": upstream.key})
        return False

    async def _rediscover(self) -> None:
        last_full = time.monotonic()
        while True:
            await asyncio.sleep(self.config.retry_interval)
            now = time.monotonic()
            full = self.config.interval > 0 and now - last_full >= self.config.interval
            if full:
                last_full = now
            due = [u for u in self.upstreams.values() if full or (not u.up and now >= u.next_try)]
            await asyncio.gather(*(self.discover(upstream) for upstream in due))


def proxy(
    app: Application,
    group: str = "*",
    commands: Sequence[str] | None = None,
    *,
    transport: str | Transport | None = None,
) -> Gateway:
    """What ``Application.proxy`` does: declare an upstream, adding the ``gateway`` service on first use."""
    gateway = app.gateway
    if gateway is None:
        gateway = app.gateway = Gateway(app)
        app.add_service(
            gateway, name="gateway", config_class=GatewayConfig, factory=gateway.configure, deps=("client",)
        )
    if transport is None:
        if group != "*" or commands is not None:
            raise ValueError(f"proxy({group!r}, ...) needs transport= (a URL or a Transport)")
        return gateway  # upstreams from GATEWAY_UPSTREAMS only
    if isinstance(transport, Transport) and group != "*":
        app.client.route(group, transport)
    gateway.declare(group, commands, transport)
    return gateway
