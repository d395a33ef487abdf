import sys
from pathlib import Path

# The packet generators live next to the tests (tests/cbpf/packets.py).
sys.path.insert(0, str(Path(__file__).resolve().parent))
