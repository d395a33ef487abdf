"""The JIT: eBPF -> LLVM IR (:mod:`.irgen`) -> native code (:mod:`.engine`), run by :class:`JitProgram`.

>>> from pybpf.isa import Insn, Program
>>> from pybpf.runtime import Memory
>>> JitProgram(Program([Insn(0xB7, dst=0, imm=42), Insn(0x95)])).run(Memory()).r0
42
"""

from .engine import CompiledProgram, JitUnavailableError, available, clear_cache, compile_program
from .program import MAX_CALL_DEPTH, JitProgram

__all__ = [
    "MAX_CALL_DEPTH", "CompiledProgram", "JitProgram", "JitUnavailableError", "available", "clear_cache",
    "compile_program",
]
