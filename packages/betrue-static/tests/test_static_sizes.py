"""Human sizes, the start-up report and the memory budget (betrue.static.sizes)."""

from __future__ import annotations

import pytest

from betrue.static.sizes import MemoryBudgetError, check_budget, human_size, report_lines


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (0, "0 B"),
        (1, "1 B"),
        (1023, "1023 B"),
        (1024, "1 KiB"),
        (1229, "1.2 KiB"),
        (10 * 1024, "10 KiB"),
        (1024 * 1024 - 1, "1 MiB"),
        (3_565_158, "3.4 MiB"),
        (5 * 1024**3, "5 GiB"),
    ],
)
def test_human_size_has_one_decimal_at_most_and_no_padding(size: int, text: str) -> None:
    assert human_size(size) == text


def test_report_lists_each_file_and_the_total_without_empty_entries() -> None:
    lines = report_lines(
        "static", "/", "public", [("index.html", 1229, [("gzip", 500), ("br", 400)]), ("logo.png", 2048, [])]
    )
    assert lines == [
        "static: 2 files, 3.2 KiB (with compressed copies 4.1 KiB) from public at /",
        "  index.html 1.2 KiB (gzip 500 B, br 400 B)",
        "  logo.png 2 KiB",
    ]
    assert all(line.strip() for line in lines)
    assert not any("0." in line or " 00" in line for line in lines)


def test_report_of_one_file_and_of_none() -> None:
    assert report_lines("s", "/x/", "r", [("a", 5, [])])[0] == "s: 1 file, 5 B from r at /x/"
    assert report_lines("s", "/", "r", []) == ["s: 0 files, 0 B from r at /"]


def test_budget_error_names_the_largest_files_first() -> None:
    sizes = [(f"small{i}.txt", 10) for i in range(10)] + [("video.mp4", 5000), ("big.js", 3000)]
    with pytest.raises(MemoryBudgetError) as caught:
        check_budget("static", 1024, sizes)
    message = str(caught.value)
    assert "over STATIC_MEMORY_BUDGET of 1 KiB" in message
    assert message.index("video.mp4 4.9 KiB") < message.index("big.js 2.9 KiB")
    assert message.count("small") == 3  # five largest only


def test_budget_within_limit_passes() -> None:
    check_budget("static", 100, [("a", 60), ("b", 40)])
