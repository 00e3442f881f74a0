"""``StaticService``: a folder loaded into memory at start and served over the app's HTTP server."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from typing import Any

from loguru import logger

from betrue.config import Config
from betrue.server import Service
from betrue.static.assets import Asset, AssetOptions
from betrue.static.config import StaticConfig
from betrue.static.loader import LoadOptions, load_assets
from betrue.static.sizes import report_lines
from betrue.static.store import StaticFiles
from betrue.static.watch import require_watchfiles, watch_folder

__all__ = ["StaticService", "config_values"]


def config_values(configs: Mapping[str, Any]) -> dict[str, Any]:
    """What templates' ``config(name)`` can read: each value by env variable, ``service.field``
    and, for the first config given, its bare field name.

    Example:
        >>> config_values({"static": StaticConfig.from_dict({"prefix": "/s"})})["STATIC_PREFIX"]
        '/s'
    """
    values: dict[str, Any] = {}
    for position, (service, config) in enumerate(configs.items()):
        spec = config.config_spec
        for field in type(config).model_fields:
            value = getattr(config, field)  # SecretStr stays masked when rendered
            env_name = spec.env_name(field)
            if env_name:
                values.setdefault(env_name, value)
            values.setdefault(f"{service}.{field}", value)
            if position == 0:
                values.setdefault(field, value)
    return values


class StaticService(Service):
    """Serves every file under ``STATIC_ROOT`` at ``STATIC_PREFIX``, from memory.

    Needs the HTTP adapter (service ``http``). Add it several times under other names and
    contexts to serve several folders. Templates (``*.tmpl.*``) are rendered at start; their
    ``config(name)`` reads this service's config and those of its dependencies (``app``,
    ``http``, and any you add with ``deps=``).

    Example:
        >>> from betrue.server import Application
        >>> app = Application("site")
        >>> _ = app.add_service(StaticService, config={"root": "public"})
        >>> _ = app.add_service(StaticService, name="admin", context="admin", config={"prefix": "/admin"})
    """

    name = "static"
    deps = ("http", "app")
    config_class = StaticConfig

    def __init__(self, config: StaticConfig, http: Any, **deps: Any) -> None:
        super().__init__(config, http=http, **deps)
        self.config: StaticConfig = config
        self.http = http
        context = config.config_spec.context
        self.label = f"static[{context.lower()}]" if context else "static"
        self.files = StaticFiles(config.prefix, case=config.case, index=config.index)
        self.reloads = 0
        """How many reloads have run (``STATIC_WATCH``); see ``wait_reload``."""
        self._reloaded: asyncio.Condition | None = None
        self._stop_watch = asyncio.Event()
        self._watcher: asyncio.Task[None] | None = None

    def load_options(self) -> LoadOptions:
        config = self.config
        configs = {name: found for name, dep in self.services.items() if (found := _config_of(dep)) is not None}
        values = config_values({"static": config, **configs})

        def lookup(name: str, default: Any = None) -> Any:
            return values.get(name, default)

        return LoadOptions(
            name=self.label,
            prefix=config.prefix,
            case=config.case,
            dotfiles=config.dotfiles,
            budget=int(config.memory_budget),
            assets=AssetOptions(
                cache_control=config.cache_control,
                compress=config.compress,
                compress_min_size=config.compress_min_size,
                gzip_level=config.gzip_level,
                brotli_quality=config.brotli_quality,
            ),
            config=lookup,
        )

    async def start(self) -> StaticService:
        """Load and render every file, log them, add the routes; start watching when asked."""
        if self.config.watch:
            require_watchfiles()
        assets = await asyncio.to_thread(load_assets, self.config.root, self.load_options())
        self.files.replace(assets)
        self._log(assets)
        self.files.add_routes(self.http.web.router)
        self._reloaded = asyncio.Condition()
        if self.config.watch:
            self._watcher = asyncio.create_task(watch_folder(self.config.root, self._on_change, self._stop_watch))
        return self

    async def stop(self) -> None:
        self._stop_watch.set()
        if self._watcher is not None:
            # watchfiles notices the stop event within its step; wait_for cancels it if it does not.
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(self._watcher, 5)
            self._watcher = None

    async def reload(self) -> bool:
        """Load the root again and swap it in; on an error keep serving the previous files.

        Returns whether the new files are served.
        """
        try:
            assets = await asyncio.to_thread(load_assets, self.config.root, self.load_options())
        except Exception as error:
            logger.error("{}: reload failed, still serving the previous files: {}", self.label, error)
            ok = False
        else:
            self.files.replace(assets)
            self._log(assets)
            ok = True
        if self._reloaded is not None:
            async with self._reloaded:
                self.reloads += 1
                self._reloaded.notify_all()
        return ok

    async def wait_reload(self, after: int, timeout: float = 10.0) -> None:
        """Wait until more than ``after`` reloads have run (read ``reloads`` before the change)."""
        condition = self._reloaded
        if condition is None:
            raise RuntimeError(f"{self.label} is not started")
        async with condition:
            await asyncio.wait_for(condition.wait_for(lambda: self.reloads > after), timeout)

    async def _on_change(self, paths: set[str]) -> None:
        logger.info("{}: {} changed, reloading", self.label, ", ".join(sorted(paths)[:5]))
        await self.reload()

    def _log(self, assets: list[Asset]) -> None:
        rows = [
            (asset.key, asset.size, [(name, len(v.body)) for name, v in asset.variants.items()]) for asset in assets
        ]
        lines = report_lines(self.label, self.files.prefix, str(self.config.root), rows)
        log = logger.bind(service=self.label)
        log.info(lines[0])
        if self.config.log_files:
            for line in lines[1:]:
                log.info(line)


def _config_of(dependency: Any) -> Config | None:
    if isinstance(dependency, Config):
        return dependency
    config = getattr(dependency, "config", None)
    return config if isinstance(config, Config) else None
