"""Make the helpers of tests/ and tests/verifier/ importable by their module names."""

from __future__ import annotations

import sys
from pathlib import Path

for _p in (Path(__file__).parent, Path(__file__).parent.parent):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))
