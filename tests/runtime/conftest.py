"""The runtime tests' helpers (rtbuild, packets) on sys.path: tests are not a package."""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
for extra in (HERE, HERE.parent / "objects", HERE.parent):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))
