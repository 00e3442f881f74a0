"""Keep every workspace member's version and internal pins equal to the root VERSION file.

Usage: python tools/versions.py check | sync | bump X.Y.Z
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VERSION_FILE = ROOT / "VERSION"
VERSION_LINE = re.compile(r'^version = "([^"]+)"$', re.MULTILINE)
INTERNAL_PIN = re.compile(r'"(betrue(?:-[a-z]+)?)==([^"]+)"')


def members() -> list[Path]:
    """Every member's pyproject.toml, sorted for stable output."""
    return sorted(ROOT.glob("packages/*/pyproject.toml"))


def expected_version() -> str:
    return VERSION_FILE.read_text().strip()


def drift(version: str) -> list[str]:
    """Human-readable lines naming every place that disagrees with ``version``."""
    problems = []
    for path in members():
        text = path.read_text()
        found = VERSION_LINE.search(text)
        name = path.parent.name
        if found is None or found.group(1) != version:
            problems.append(f"{name}: version {found.group(1) if found else '(missing)'} != {version}")
        for dep, pinned in INTERNAL_PIN.findall(text):
            if pinned != version:
                problems.append(f"{name}: pin {dep}=={pinned} != {version}")
    return problems


def sync(version: str) -> None:
    for path in members():
        text = VERSION_LINE.sub(f'version = "{version}"', path.read_text(), count=1)
        text = INTERNAL_PIN.sub(lambda m: f'"{m.group(1)}=={version}"', text)
        path.write_text(text)


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else "check"
    if command == "bump":
        if len(argv) != 3 or not re.fullmatch(r"\d+\.\d+\.\d+", argv[2]):
            print("usage: versions.py bump X.Y.Z", file=sys.stderr)
            return 2
        VERSION_FILE.write_text(argv[2] + "\n")
        command = "sync"
    version = expected_version()
    if command == "sync":
        sync(version)
        print(f"all members at {version}")
        return 0
    if command == "check":
        problems = drift(version)
        for line in problems:
            print(line, file=sys.stderr)
        if not problems:
            print(f"versions: {len(members())} members at {version}")
        return 1 if problems else 0
    print("usage: versions.py check | sync | bump X.Y.Z", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
