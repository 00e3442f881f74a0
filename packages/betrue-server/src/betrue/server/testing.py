"""Test helpers for apps built on betrue: start the services, call commands, read envelopes and events.

``TestApp`` runs an app without ports (like Nameko's ``entrypoint_hook`` or FastStream's test broker);
``http_client`` runs it on a free port for tests over real HTTP; ``FaultProxy`` (betrue.server.faultproxy)
sits between an app and what it talks to and adds latency, resets, black holes and bandwidth limits.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any

import aiohttp

from betrue.server.context import Identity
from betrue.server.errors import error_from_envelope
from betrue.server.events import Event, name_matches
from betrue.server.faultproxy import FaultProxy
from betrue.server.wire import decode_json, encode_json

if TYPE_CHECKING:
    from betrue.server.application import Application
    from betrue.server.di import ServiceSpec

__all__ = ["FaultProxy", "HttpReply", "TestApp", "http_client"]


@dataclass(frozen=True, slots=True)
class HttpReply:
    """What an HTTP call answered: status, headers (lower-case names), the envelope and the raw body."""

    status: int
    headers: Mapping[str, str]
    envelope: dict[str, Any]
    body: bytes


class TestApp:
    """Start an app for a test, call its commands, swap services, record emitted events.

    ``overrides`` replaces services by name (a value, a class or a factory); ``env`` adds environment
    variables for this run. Without ``http=True`` nothing listens; with it the app serves on a free port
    and ``post`` calls it over real HTTP. The app is put back as it was on exit, so a module-level app
    can be used by many tests.

    Example:
        >>> async def test_send():  # doctest: +SKIP
        ...     async with TestApp(app, overrides={"store": FakeStore()}) as t:
        ...         envelope = await t.call("chat/send", {"room": "r1", "text": "hi"})
        ...         assert envelope["code"] == 200
        ...         assert [e.name for e in t.events] == ["chat.message"]
    """

    __test__ = False  # not a pytest test class, despite its name

    def __init__(
        self,
        app: Application,
        *,
        overrides: Mapping[str, Any] | None = None,
        env: Mapping[str, str] | None = None,
        http: bool = False,
    ) -> None:
        self.app = app
        self.overrides = dict(overrides or {})
        self.env = dict(env or {})
        self.http = http
        self.events: list[Event] = []
        """Every event the app published while running, in order (recorded when published)."""
        self._saved_specs: dict[str, ServiceSpec] = {}
        self._saved_environ: Mapping[str, str] | None = None
        self._saved_forced: dict[str, dict[str, Any]] = {}
        self._published = asyncio.Condition()
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> TestApp:
        app = self.app
        for name, target in self.overrides.items():
            if name in app.container.specs:
                self._saved_specs[name] = app.container.specs[name]
            app.replace_service(name, target)
        self._saved_environ = app.loader.environ
        if self.env:
            app.loader.environ = {**(os.environ if app.loader.environ is None else app.loader.environ), **self.env}
        self._saved_forced = dict(app.loader.forced)
        if self.http:
            app.loader.forced["http"] = {**app.loader.forced.get("http", {}), "host": "127.0.0.1", "port": 0}
        try:
            await app.start(serve=self.http)
        except BaseException:
            self._restore()
            raise
        self._record_events()
        if self.http:
            self._session = aiohttp.ClientSession()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        try:
            if self._session is not None:
                await self._session.close()
            await self.app.stop()
        finally:
            self._restore()

    def _restore(self) -> None:
        for name in self.overrides:
            saved = self._saved_specs.pop(name, None)
            if saved is not None:
                self.app.container.replace(saved)
            else:
                self.app.container.specs.pop(name, None)
        self.app.loader.environ = self._saved_environ
        self.app.loader.forced = self._saved_forced

    def _record_events(self) -> None:
        bus = self.app.events
        publish = bus.publish

        async def recording_publish(event: Event) -> None:
            self.events.append(event)
            async with self._published:
                self._published.notify_all()
            await publish(event)

        # An instance attribute shadows the method: recorded when published, before any delivery task runs.
        setattr(bus, "publish", recording_publish)  # noqa: B010

    # -- calls ------------------------------------------------------------------------------------

    async def call(
        self,
        code: str,
        params: Any = None,
        *,
        meta: Mapping[str, str] | None = None,
        identity: Identity | None = None,
    ) -> dict[str, Any]:
        """Run ``code`` through its whole pipeline and return the envelope exactly as a transport sends it."""
        response = await self.app.handle(code, params, dict(meta or {}), adapter="test", identity=identity)
        envelope: dict[str, Any] = decode_json(encode_json(response.envelope()))
        return envelope

    async def result(self, code: str, params: Any = None, **options: Any) -> Any:
        """The result of ``code``; an error envelope is raised as its error class (``NotFound``, ...)."""
        envelope = await self.call(code, params, **options)
        if "error" in envelope:
            raise error_from_envelope(envelope)
        return envelope["result"]

    def service(self, name: str) -> Any:
        """A started singleton service (the override, when one was given)."""
        return self.app.service(name)

    async def wait_event(self, name: str, *, timeout: float = 5.0) -> Event:
        """The first recorded event matching ``name`` (``*``/``>`` wildcards), waiting for it if needed."""

        def found() -> Event | None:
            return next((event for event in self.events if name_matches(name, event.name)), None)

        async with self._published:
            async with asyncio.timeout(timeout):
                await self._published.wait_for(lambda: found() is not None)
        event = found()
        assert event is not None
        return event

    # -- over HTTP --------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>`` of the running app (``http=True`` only)."""
        url: str = self.app.service("http").url
        return url

    async def post(
        self,
        code: str,
        params: Any = None,
        *,
        headers: Mapping[str, str] | None = None,
        data: bytes | None = None,
        content_type: str | None = "application/json",
    ) -> HttpReply:
        """``POST <prefix>/<code>`` with ``params`` as JSON (or the raw ``data``); the reply decoded."""
        if self._session is None:
            raise RuntimeError("TestApp(app, http=True) is needed for calls over HTTP")
        sent = dict(headers or {})
        if content_type is not None:
            sent.setdefault("Content-Type", content_type)
        body = data if data is not None else encode_json({} if params is None else params)
        prefix = self.app.service("http").config.api_prefix
        async with self._session.post(f"{self.url}{prefix}/{code}", data=body, headers=sent) as reply:
            raw = await reply.read()
            names = {name.lower(): value for name, value in reply.headers.items()}
            envelope = decode_json(raw) if raw else {}
            return HttpReply(reply.status, names, envelope, raw)


def http_client(
    app: Application, *, overrides: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None
) -> TestApp:
    """``TestApp`` serving over real HTTP on a free port of 127.0.0.1.

    Example:
        >>> async def test_over_http():  # doctest: +SKIP
        ...     async with http_client(app) as client:
        ...         reply = await client.post("hello/greet", {"name": "Ann"})
        ...         assert reply.status == 200 and reply.headers["x-trace-id"] == reply.envelope["traceId"]
    """
    return TestApp(app, overrides=overrides, env=env, http=True)
