"""pybpf: eBPF as Linux defines it, runnable and checkable from Python.

>>> import pybpf
>>> prog = pybpf.assemble("r0 = 42\\nexit")
>>> pybpf.run(prog).r0
42
"""

from __future__ import annotations

from .errors import (
    AsmError,
    BudgetExceededError,
    CallDepthError,
    DecodeError,
    EncodeError,
    HelperError,
    KernelError,
    MemoryAccessError,
    PyBpfError,
    UnknownHelperError,
    VmError,
)
from .isa import Insn, Program, decode, encode

__version__ = "0.1.0"

__all__ = [
    "AsmError", "BudgetExceededError", "CallDepthError", "DecodeError", "EncodeError", "HelperError",
    "KernelError", "MemoryAccessError", "PyBpfError", "UnknownHelperError", "VmError",
    "Insn", "Program", "decode", "encode",
    "__version__",
]
