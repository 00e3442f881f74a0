"""Entry of ``make bench`` / ``make bench-quick``: ``python tools/bench/run.py [--quick|--full] [--only NAME...]``.

See tools/bench/README.md (how to add a comparison) and docs/benchmarks.md (what the figures mean).
"""

import sys
from pathlib import Path

# Run as a script, so put the repository root on the path: everything else imports ``tools.bench.*``.
_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from tools.bench.harness.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
