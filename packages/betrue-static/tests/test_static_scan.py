"""Reading a root into memory without ever leaving it (betrue.static.scan)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from betrue.static.scan import scan_root
from betrue.static.sizes import MemoryBudgetError


def _relatives(root: Path, **options: object) -> list[str]:
    return [source.relative for source in scan_root(root, **options)]  # type: ignore[arg-type]


def test_reads_every_file_with_its_bytes_and_mtime(site: Path) -> None:
    os.utime(site / "app.js", (1_600_000_000, 1_600_000_000))
    files = {source.relative: source for source in scan_root(site)}
    assert sorted(files) == ["app.js", "css/App.css", "guide/index.html", "index.html"]
    assert files["app.js"].data == b"console.log('hi');\n"
    assert files["app.js"].mtime == 1_600_000_000


def test_symlinks_out_of_the_root_are_skipped(tmp_path: Path, site: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("TOP SECRET")
    (site / "leak.txt").symlink_to(outside / "secret.txt")
    (site / "leakdir").symlink_to(outside, target_is_directory=True)
    files = scan_root(site)
    assert all(b"TOP SECRET" not in source.data for source in files)
    assert not any(source.relative.startswith(("leak", "leakdir/")) for source in files)


def test_symlinks_inside_the_root_are_followed_and_loops_end(site: Path) -> None:
    (site / "styles").symlink_to(site / "css", target_is_directory=True)
    (site / "css" / "again").symlink_to(site, target_is_directory=True)  # a loop back to the root
    (site / "home.html").symlink_to(site / "index.html")
    relatives = _relatives(site)
    assert "home.html" in relatives
    assert "styles/App.css" in relatives or "css/App.css" in relatives
    assert len(relatives) == len(set(relatives)) < 20


def test_dotfiles_are_skipped_unless_asked(site: Path) -> None:
    (site / ".env").write_text("SECRET=1")
    (site / ".git").mkdir()
    (site / ".git" / "config").write_text("[core]")
    assert not any(part.startswith(".") for name in _relatives(site) for part in name.split("/"))
    assert {".env", ".git/config"} <= set(_relatives(site, dotfiles=True))


def test_special_files_are_not_read(site: Path) -> None:
    os.mkfifo(site / "pipe")  # reading it would block the start
    (site / "dangling").symlink_to(site / "missing")
    assert "pipe" not in _relatives(site)
    assert "dangling" not in _relatives(site)


def test_missing_root_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nothing-here"):
        scan_root(tmp_path / "nothing-here")


def test_budget_is_checked_before_reading(site: Path) -> None:
    (site / "big.bin").write_bytes(b"\0" * 50_000)
    with pytest.raises(MemoryBudgetError, match=r"big\.bin 48\.8 KiB"):
        scan_root(site, budget=10_000, name="site")
