"""``python -m pybpf.bench CODE MEM [--engine interp]``: one JSON line for run_bench.py."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..errors import PyBpfError
from ..isa import decode
from .timing import time_program


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m pybpf.bench", description=__doc__)
    ap.add_argument("code", type=Path, help="raw eBPF code (the .text bytes)")
    ap.add_argument("mem", type=Path, help="input memory file (r1 = its address, r2 = its length)")
    # run_bench.py's own usage example passes the engine as a third word
    ap.add_argument("engine_pos", nargs="?", help=argparse.SUPPRESS)
    ap.add_argument("--engine", default="interp", choices=["interp", "jit", "jit-trusted", "auto"])
    ap.add_argument("--samples", type=int, default=15)
    args = ap.parse_args(argv)
    engine = args.engine_pos or args.engine
    try:
        program = decode(args.code.read_bytes())
        result = time_program(program, args.mem.read_bytes(), engine=engine, samples=args.samples)
    except (PyBpfError, OSError) as exc:
        print(f"pybpf.bench: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result.as_json()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
