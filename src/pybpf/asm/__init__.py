"""Assembler and disassembler for eBPF, in three syntaxes over the one instruction model.

* ``llvm``: what ``llvm-objdump -d`` prints (``r0 = *(u32 *)(r1 + 76)``),
* ``kernel``: the verifier log (``(61) r0 = *(u32 *)(r1 +76)``),
* ``ubpf``: the uBPF / bpf_conformance assembler (``ldxw %r0, [%r1+76]``).

>>> from pybpf.asm import assemble, disassemble
>>> prog = assemble("mov %r0, 1\\nja +0\\nexit")
>>> print(disassemble(prog, syntax="kernel"))
0: (b7) r0 = 1
1: (05) goto pc+0
2: (95) exit
>>> assemble(disassemble(prog)) == prog
True
"""

from .assembler import assemble
from .disasm import Line, disassemble, format_insn, iter_lines
from .parser import detect_syntax
from .syntax import SYNTAXES

__all__ = ["SYNTAXES", "Line", "assemble", "detect_syntax", "disassemble", "format_insn", "iter_lines"]
