"""The ``pybpf`` command line.

Each subcommand lives in its own module with a ``register(subparsers)``
function that adds its parser and sets ``func`` to a handler taking the parsed
arguments and returning the exit code.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ..errors import PyBpfError

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    from . import asm_cmds, bench_cmd, cbpf_cmds, jit_cmd, obj_cmds, run_cmd, testrun_cmd, verify_cmd

    parser = argparse.ArgumentParser(prog="pybpf", description="eBPF as Linux defines it, from Python.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in (asm_cmds, run_cmd, bench_cmd, testrun_cmd, obj_cmds, cbpf_cmds, verify_cmd, jit_cmd):
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
    except PyBpfError as exc:
        print(f"pybpf: error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        return 0
    return code
