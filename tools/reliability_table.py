"""Print the reliability suite's table (``make test-reliability``): one row per case family.

Usage: ``python tools/reliability_table.py REPORT.json [--markdown]``; the report is what the suite
writes when ``BETRUE_RELIABILITY_REPORT`` names a file. Exits 1 when a row breaks the goal: any 5xx,
anything hung, anything lost, any read outside a served root.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

COLUMNS = ("2xx", "4xx", "5xx", "unavailable", "closed", "hung")
HEADERS = ("case family", "apps", "inputs", *COLUMNS, "lost", "outside roots")


def rows(report: dict[str, Any]) -> list[list[str]]:
    table = []
    for family, row in sorted(report.items()):
        answers = row["answers"]
        table.append(
            [
                family,
                ", ".join(row["apps"]),
                str(row["inputs"]),
                *(str(answers.get(column, 0)) for column in COLUMNS),
                str(row["lost"]),
                str(row.get("outside_roots", 0)),
            ]
        )
    totals = ["total", "", *(str(sum(int(r[i]) for r in table)) for i in range(2, len(HEADERS)))]
    return [*table, totals]


def render(report: dict[str, Any], *, markdown: bool = False) -> str:
    table = rows(report)
    if markdown:
        lines = ["| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
        lines += ["| " + " | ".join(row) + " |" for row in table]
        return "\n".join(lines)
    widths = [max(len(str(cell)) for cell in column) for column in zip(HEADERS, *table, strict=True)]

    def line(cells: list[str] | tuple[str, ...]) -> str:
        return "  ".join(
            cell.ljust(width) if index < 2 else cell.rjust(width)
            for index, (cell, width) in enumerate(zip(cells, widths, strict=True))
        )

    rule = "-" * len(line(HEADERS))
    return "\n".join([line(HEADERS), rule, *(line(row) for row in table[:-1]), rule, line(table[-1])])


def broken(report: dict[str, Any]) -> list[str]:
    """The families that break the goal (0 5xx, 0 hung, 0 lost, 0 outside roots)."""
    return [
        family
        for family, row in report.items()
        if row["answers"].get("5xx") or row["answers"].get("hung") or row["lost"] or row.get("outside_roots")
    ]


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 2
    path = Path(argv[0])
    if not path.exists():
        print(f"no report at {path}: run the suite with BETRUE_RELIABILITY_REPORT={path}")
        return 2
    report = json.loads(path.read_text())
    print(render(report, markdown="--markdown" in argv))
    failing = broken(report)
    if failing:
        print(f"\ngoal missed in: {', '.join(failing)}")
        return 1
    print("\ngoal held: 0 5xx, 0 hung, 0 lost, 0 reads outside roots")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
