from pathlib import Path

import pytest

from betrue.config import MarkerError, replace_between_markers

START, END = "[envs]: start", "[envs]: end"


@pytest.fixture
def page(tmp_path: Path) -> Path:
    path = tmp_path / "env.md"
    path.write_text(f"# Environment\n\nIntro.\n\n{START}\n\nold table\n\n{END}\n\nOutro.\n")
    return path


def test_text_between_markers_is_replaced(page: Path) -> None:
    assert replace_between_markers(page, START, END, "| new | table |\n")
    assert page.read_text() == f"# Environment\n\nIntro.\n\n{START}\n\n| new | table |\n\n{END}\n\nOutro.\n"


def test_running_twice_changes_nothing(page: Path) -> None:
    assert replace_between_markers(page, START, END, "new")
    after_first = page.read_bytes()
    mtime = page.stat().st_mtime_ns
    assert not replace_between_markers(page, START, END, "new")
    assert page.read_bytes() == after_first
    assert page.stat().st_mtime_ns == mtime


def test_markers_with_nothing_between(tmp_path: Path) -> None:
    path = tmp_path / "README.md"
    path.write_text(f"{START}\n{END}")
    assert replace_between_markers(path, START, END, "x")
    assert path.read_text() == f"{START}\n\nx\n\n{END}"
    assert replace_between_markers(path, START, END, "")
    assert path.read_text() == f"{START}\n\n{END}"
    assert not replace_between_markers(path, START, END, "")


def test_start_marker_at_end_of_file_without_newline(tmp_path: Path) -> None:
    path = tmp_path / "x.md"
    path.write_text(START)
    with pytest.raises(MarkerError, match=r"end marker '\[envs\]: end' not found in"):
        replace_between_markers(path, START, END, "x")


def test_missing_start_marker_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "x.md"
    path.write_text("no markers\n")
    with pytest.raises(MarkerError, match=r"start marker '\[envs\]: start' not found in .*x\.md"):
        replace_between_markers(path, START, END, "x")
    assert path.read_text() == "no markers\n"


def test_end_marker_before_start_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "x.md"
    path.write_text(f"{END}\n{START}\n")
    with pytest.raises(MarkerError, match="not found after the start marker"):
        replace_between_markers(path, START, END, "x")


def test_marker_error_is_a_value_error() -> None:
    assert issubclass(MarkerError, ValueError)


def test_a_missing_file_raises_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        replace_between_markers(tmp_path / "none.md", START, END, "x")
