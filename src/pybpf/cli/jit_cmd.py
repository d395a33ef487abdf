"""``pybpf jit``: show what the JIT makes of a program (LLVM IR, optimised IR or native assembly)."""

from __future__ import annotations

import argparse
from typing import Any

from ..errors import PyBpfError
from ..vm import load_program

__all__ = ["register"]

EMITS = ("llvm-ir", "optimized-ir", "asm")


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "jit",
        help="compile a program with the LLVM JIT and print its IR or native assembly",
        description="Compile PROGRAM with pybpf's JIT (eBPF -> LLVM IR -> native) and print one stage.",
    )
    p.add_argument("program", help="raw instructions (.bin), assembly text, or an ELF object")
    p.add_argument("--section", help="code section of an ELF object (default: the first)")
    p.add_argument("--emit", choices=EMITS, default="asm",
                   help="llvm-ir (as generated), optimized-ir, or asm (native; the default)")
    p.add_argument("--mode", choices=("checked", "trusted"), default="checked",
                   help="checked: every access checked against the memory regions (default); "
                        "trusted: no checks, for verified programs")
    p.add_argument("-O", dest="opt", type=int, choices=(0, 1, 2, 3), default=3,
                   help="LLVM optimisation level (default 3)")
    p.set_defaults(func=_jit)


def _jit(args: argparse.Namespace) -> int:
    try:
        from ..jit import available, compile_program
    except ImportError as exc:  # pragma: no cover - llvmlite is a default dependency
        raise PyBpfError("the JIT needs llvmlite (pip install llvmlite)") from exc
    if not available():  # pragma: no cover
        raise PyBpfError("the JIT cannot initialise LLVM's native target here")
    program = load_program(args.program, section=args.section)
    compiled = compile_program(program, checked=args.mode == "checked", opt=args.opt)
    text = {"llvm-ir": compiled.llvm_ir, "optimized-ir": compiled.optimized_ir}.get(args.emit)
    print(text if text is not None else compiled.asm, end="")
    return 0
