"""From a root folder to assets: read, render templates, check keys and budget, compress."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

from betrue.static.assets import Asset, AssetOptions, build_asset
from betrue.static.keys import Case, file_key, normalize_prefix, template_target
from betrue.static.scan import scan_root
from betrue.static.sizes import check_budget
from betrue.static.templates import ConfigLookup, render_templates

__all__ = ["LoadOptions", "load_assets"]


def _no_config(name: str, default: object = None) -> object:
    return default


@dataclass(frozen=True, slots=True)
class LoadOptions:
    """Everything ``load_assets`` needs besides the root (a StaticService builds it from its config)."""

    name: str = "static"
    prefix: str = "/"
    case: Case = "sensitive"
    dotfiles: bool = False
    budget: int | None = None
    assets: AssetOptions = field(default_factory=AssetOptions)
    config: ConfigLookup = _no_config


def load_assets(root: str | os.PathLike[str], options: LoadOptions | None = None) -> list[Asset]:
    """Every file under ``root`` as an asset (templates rendered), sorted by key.

    Raises FileNotFoundError (no root), ``TemplateError``, ``MemoryBudgetError``, and ValueError
    when two files get the same key (``a.html`` next to ``a.tmpl.html``, or ``A.css`` next to
    ``a.css`` with case-insensitive keys).

    Example:
        >>> import tempfile, pathlib
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> _ = (folder / "index.tmpl.html").write_text("{{ url('app.css') }}")
        >>> [(a.key, a.identity.body) for a in load_assets(folder, LoadOptions(prefix="/s"))]
        [('index.html', b'/s/app.css')]
    """
    options = options or LoadOptions()
    files = scan_root(root, dotfiles=options.dotfiles, budget=options.budget, name=options.name)
    rendered = render_templates(
        files, prefix=normalize_prefix(options.prefix), config=options.config, case=options.case
    )
    entries = [(f.relative, f.data, f.mtime, f.relative) for f in files if template_target(f.relative) is None]
    # A rendered page depends on the config and other files too: its Last-Modified is when it was rendered.
    rendered_at = time.time()
    entries += [(r.relative, r.data, max(r.mtime, rendered_at), r.template) for r in rendered]
    owners: dict[str, str] = {}
    for key, _, _, source in entries:
        folded = file_key(key, options.case)
        if folded in owners:
            raise ValueError(f"{options.name}: {owners[folded]} and {source} are both served as {key!r}")
        owners[folded] = source
    if options.budget is not None:
        check_budget(options.name, options.budget, [(key, len(data)) for key, data, _, _ in entries])
    assets = sorted((build_asset(key, data, mtime, options.assets) for key, data, mtime, _ in entries), key=_key)
    if options.budget is not None:
        check_budget(
            options.name,
            options.budget,
            [(asset.key, asset.held) for asset in assets],
            what="files with their compressed copies",
        )
    return assets


def _key(asset: Asset) -> str:
    return asset.key
