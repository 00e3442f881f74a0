"""From a folder to assets: templates, collisions, the budget with compressed copies (betrue.static.loader)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from betrue.static import LoadOptions, MemoryBudgetError, TemplateError, load_assets


def test_plain_files_and_rendered_templates_become_assets(site: Path) -> None:
    (site / "about.tmpl.html").write_text("<a href=\"{{ url('index.html') }}\">home</a>")
    assets = {asset.key: asset for asset in load_assets(site, LoadOptions(prefix="/s"))}
    assert sorted(assets) == ["about.html", "app.js", "css/App.css", "guide/index.html", "index.html"]
    assert assets["about.html"].identity.body == b'<a href="/s/index.html">home</a>'


def test_template_and_plain_file_with_the_same_name_clash(site: Path) -> None:
    (site / "index.tmpl.html").write_text("x")
    with pytest.raises(ValueError, match=r"index\.html and index\.tmpl\.html are both served as 'index\.html'"):
        load_assets(site)


def test_names_differing_in_case_clash_only_when_keys_fold_case(site: Path) -> None:
    (site / "css" / "app.css").write_text("lower")
    assert len(load_assets(site, LoadOptions(case="sensitive"))) == 5
    with pytest.raises(ValueError, match="both served"):
        load_assets(site, LoadOptions(case="insensitive"))


def test_template_error_stops_the_load(site: Path) -> None:
    (site / "index.tmpl.txt").write_text("{{ file('gone.css') }}")
    with pytest.raises(TemplateError, match=r"index\.tmpl\.txt line 1"):
        load_assets(site)


def test_budget_counts_compressed_copies(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    words = [random.Random(3).choice(["alpha", "beta", "gamma", "delta"]) for _ in range(20_000)]
    (root / "big.txt").write_text(" ".join(words))
    size = (root / "big.txt").stat().st_size
    assert load_assets(root, LoadOptions(budget=size * 2))  # the copies are small: fits
    with pytest.raises(MemoryBudgetError, match=r"files with their compressed copies need .* largest: big\.txt"):
        load_assets(root, LoadOptions(budget=size + 10))
