"""``pybpf run``: run a program on memory and print r0."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ..errors import PyBpfError
from ..vm import ENGINES, RunResult, Vm

__all__ = ["register"]


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "run",
        help="run a program (raw .bin, assembly or ELF object) and print r0",
        description="Run PROGRAM with r1 = a writable copy of the memory and r2 = its length.",
    )
    p.add_argument("program", help="raw instructions (.bin), assembly text, or an ELF object ('-' = stdin)")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--mem", metavar="HEX", help="input memory as hex bytes ('01 02 ff' or '0102ff')")
    src.add_argument("--mem-file", metavar="FILE", type=Path, help="input memory from a file")
    p.add_argument("--section", help="code section of an ELF object (default: the first)")
    p.add_argument("--engine", choices=ENGINES, default="auto", help="who runs it (default: auto)")
    p.add_argument("--budget", type=int, default=1_000_000, help="instruction budget (default 1000000)")
    p.add_argument("--trace", action="store_true", help="print every executed instruction")
    p.add_argument("--json", action="store_true", help="print one JSON object: r0, registers, insns")
    p.set_defaults(func=_run)


def _parse_hex(text: str) -> bytes:
    cleaned = "".join(text.split()).removeprefix("0x")
    try:
        return bytes.fromhex(cleaned)
    except ValueError as exc:
        raise PyBpfError(f"--mem is not hex bytes: {exc}") from exc


def _read_program(arg: str) -> bytes | str | Path:
    if arg == "-":
        data = sys.stdin.buffer.read()
        try:
            text = data.decode()
        except UnicodeDecodeError:
            return data
        return text if "\x00" not in text else data
    return Path(arg)


def _run(args: argparse.Namespace) -> int:
    mem: bytes | None = None
    if args.mem is not None:
        mem = _parse_hex(args.mem)
    elif args.mem_file is not None:
        try:
            mem = args.mem_file.read_bytes()
        except OSError as exc:
            raise PyBpfError(f"cannot read {args.mem_file}: {exc.strerror}") from exc
    vm = Vm(_read_program(args.program), engine=args.engine, budget=args.budget, section=args.section)
    result = vm.run(mem, trace=args.trace)
    if args.json:
        print(json.dumps(_as_json(result)))
        return 0
    if args.trace and result.trace is not None:
        _print_trace(result)
    print(f"{result.r0:#x}")
    return 0


def _as_json(result: RunResult) -> dict[str, Any]:
    out: dict[str, Any] = {"r0": result.r0, "engine": result.engine}
    if result.regs is not None:
        out["regs"] = {f"r{i}": v for i, v in enumerate(result.regs)}
    out["insns"] = result.insns
    if result.mem is not None:
        out["mem"] = result.mem.hex()
    if result.trace is not None:
        out["trace"] = [
            {"pc": step.pc, "insn": str(step.insn), "changes": dict(step.changes)}
            for step in result.trace
        ]
    return out


def _print_trace(result: RunResult) -> None:
    assert result.trace is not None
    for step in result.trace:
        changes = " ".join(f"{name}={value:#x}" for name, value in step.changes)
        print(f"{step.pc:>5}: {step.insn!s:<40} {changes}".rstrip())
