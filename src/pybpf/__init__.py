"""pybpf: eBPF as Linux defines it, runnable and checkable from Python.

>>> import pybpf
>>> prog = pybpf.assemble("r0 = *(u8 *)(r1 + 1)\\nr0 += 1\\nexit")
>>> pybpf.run(prog, bytes([7, 41])).r0
42
>>> print(pybpf.disassemble(prog, syntax="kernel"))
0: (71) r0 = *(u8 *)(r1 +1)
1: (07) r0 += 1
2: (95) exit
"""

from __future__ import annotations

from .asm import assemble, disassemble, format_insn
from .errors import (
    AsmError,
    BudgetExceededError,
    CallDepthError,
    DecodeError,
    ElfError,
    EncodeError,
    HelperError,
    KernelError,
    MemoryAccessError,
    PyBpfError,
    UnknownHelperError,
    VmError,
)
from .isa import Insn, Program, decode, encode
from .objects import BpfObject, BpfProgram, TestRunResult, load_object
from .runtime import HelperRegistry, Memory
from .vm import RunResult, Vm, load_program, run

__version__ = "0.1.0"

__all__ = [
    # programs
    "Insn", "Program", "decode", "encode", "assemble", "disassemble", "format_insn", "load_program",
    # running
    "Vm", "RunResult", "run", "Memory", "HelperRegistry",
    # objects with maps, test runs
    "load_object", "BpfObject", "BpfProgram", "TestRunResult",
    # errors
    "PyBpfError", "AsmError", "BudgetExceededError", "CallDepthError", "DecodeError", "ElfError",
    "EncodeError", "HelperError", "KernelError", "MemoryAccessError", "UnknownHelperError", "VmError",
    "__version__",
]
