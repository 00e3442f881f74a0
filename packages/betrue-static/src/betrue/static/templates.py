"""``*.tmpl.*`` files rendered once at start with jinja2 and ``config``, ``url`` and ``file``.

``config(name)`` without a default stops the start when no config has that name (a typo, or a service
this one does not depend on); ``url(path, prefix="/")`` reaches files outside this service's prefix.

``index.tmpl.html`` is served as ``index.html``; the output lives in memory only. Templates may
``{% include %}`` any file of the root. ``file("app.css", hash=True)`` of another template
renders that one first; a cycle or a missing file is a start-up error naming the template
and line.
"""

from __future__ import annotations

import hashlib
import types
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import jinja2

from betrue.server.ext import StartError
from betrue.static.keys import Case, file_key, template_target
from betrue.static.scan import SourceFile

__all__ = ["ConfigLookup", "Rendered", "TemplateError", "render_templates"]

ConfigLookup = Callable[[str, Any], Any]
"""``lookup(name, default)``: a config value by env variable or field name (what ``config()`` calls)."""


_MISSING: Any = object()

# The template functions of @be-true's StaticService, and what to write in betrue instead.
_RENAMED = {
    "urlFile": "file(path, hash=False) (the prefix plus a version suffix)",
    "urlPage": "url(path) (the prefix joined with the path)",
}


class TemplateError(StartError, RuntimeError):
    """A template failed to render at start; the message names the template and line."""


@dataclass(frozen=True, slots=True)
class Rendered:
    """A rendered template: the name it is served under, its bytes, and its source's mtime."""

    relative: str
    data: bytes
    mtime: float
    template: str


class _Problem(Exception):
    """Raised inside a template by our functions; turned into a TemplateError with the line."""


def _template_line(error: BaseException, names: Iterable[str]) -> tuple[str, int] | None:
    """The innermost template frame of a traceback (jinja2 maps frames to template lines)."""
    known = set(names)
    found = None
    trace: types.TracebackType | None = error.__traceback__
    while trace is not None:
        filename = trace.tb_frame.f_code.co_filename
        if filename in known:
            found = (filename, trace.tb_lineno)
        trace = trace.tb_next
    return found


class _Renderer:
    def __init__(self, files: Iterable[SourceFile], prefix: str, config: ConfigLookup, case: Case) -> None:
        self.prefix = prefix
        self.case = case
        self.sources = {source.relative: source for source in files}
        self.templates: dict[str, SourceFile] = {}
        self.served: dict[str, str] = {}  # file key -> served relative name
        for relative, source in self.sources.items():
            target = template_target(relative)
            if target is not None:
                self.templates[target] = source
            self.served[file_key(target or relative, case)] = target or relative
        self.rendered: dict[str, bytes] = {}
        self.stack: list[str] = []
        self.env = jinja2.Environment(
            loader=jinja2.FunctionLoader(self._load),
            undefined=jinja2.StrictUndefined,
            autoescape=jinja2.select_autoescape(("html", "htm", "xml", "svg"), default_for_string=False),
            keep_trailing_newline=True,
        )
        self.lookup = config
        self.env.globals.update(config=self.config, url=self.url, file=self.file)
        self.env.globals.update({old: _renamed(old, new) for old, new in _RENAMED.items()})

    def _load(self, name: str) -> tuple[str, str, Callable[[], bool]]:
        source = self.sources.get(name.lstrip("/"))
        if source is None:
            raise jinja2.TemplateNotFound(name)
        try:
            text = source.data.decode("utf-8")
        except UnicodeDecodeError as error:
            raise _Problem(f"{name} is not UTF-8 text") from error
        return text, source.relative, lambda: True

    def config(self, name: str, default: Any = _MISSING) -> Any:
        """A config value; without a default an unknown name is an error, not a silent ``None``."""
        value = self.lookup(name, _MISSING)
        if value is not _MISSING:
            return value
        if default is not _MISSING:
            return default
        raise _Problem(
            f"config({name!r}): no such config value; use an env variable name (HTTP_PORT), service.field "
            "(http.port) of a service this one depends on (add it to deps), or give a default: "
            f"config({name!r}, None)"
        )

    def url(self, path: str, prefix: str | None = None) -> str:
        """The prefix joined with ``path`` (percent-encoded where needed); ``prefix="/"`` for the site's root."""
        base = self.prefix if prefix is None else prefix.rstrip("/") + "/"
        return base + quote(path.lstrip("/"), safe="/:@!$&'()*+,;=-._~?#")

    def file(self, path: str, hash: bool = False) -> str:
        """``url(path)`` plus ``?v=`` the file's mtime (or the start of its content hash)."""
        served = self.served.get(file_key(path, self.case))
        if served is None:
            raise _Problem(f"file({path!r}): no such file under the root")
        if hash:
            version = hashlib.sha256(self.content(served)).hexdigest()[:16]
        else:
            source = self.templates.get(served) or self.sources[served]
            version = str(int(source.mtime))
        return f"{self.url(served)}?v={version}"

    def content(self, served: str) -> bytes:
        return self.render(served) if served in self.templates else self.sources[served].data

    def render(self, target: str) -> bytes:
        if target in self.rendered:
            return self.rendered[target]
        source = self.templates[target]
        if source.relative in self.stack:
            cycle = " -> ".join([*self.stack, source.relative])
            raise _Problem(f"templates depend on each other's hash: {cycle}")
        self.stack.append(source.relative)
        try:
            text = self.env.get_template(source.relative).render()
        finally:
            self.stack.pop()
        self.rendered[target] = text.encode("utf-8")
        return self.rendered[target]

    def render_all(self) -> list[Rendered]:
        out = []
        for target, source in sorted(self.templates.items()):
            try:
                data = self.render(target)
            except jinja2.TemplateSyntaxError as error:
                where = f"{error.filename or error.name or source.relative} line {error.lineno}"
                raise TemplateError(f"template {where}: {error.message}") from None
            except (_Problem, jinja2.TemplateError) as error:
                found = _template_line(error, self.sources)
                where = f"{found[0]} line {found[1]}" if found else source.relative
                raise TemplateError(f"template {where}: {error}") from None
            out.append(Rendered(target, data, source.mtime, source.relative))
        return out


def _renamed(old: str, new: str) -> Callable[..., str]:
    def refuse(*args: Any, **kwargs: Any) -> str:
        raise _Problem(f"{old}() is @be-true's name; betrue's is {new}")

    return refuse


def render_templates(
    files: Iterable[SourceFile], *, prefix: str, config: ConfigLookup, case: Case = "sensitive"
) -> list[Rendered]:
    """Render every ``*.tmpl.*`` file among ``files``; raise TemplateError on the first failure.

    Example:
        >>> page = SourceFile("index.tmpl.html", b'<link href="{{ url(\\'app.css\\') }}">', 0.0)
        >>> [r.data for r in render_templates([page], prefix="/s/", config=lambda n, d: d)]
        [b'<link href="/s/app.css">']
    """
    return _Renderer(files, prefix, config, case).render_all()
