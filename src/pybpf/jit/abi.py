"""The contract between generated code and the Python side: the run context layout.

Native code gets one pointer, ``ctx``, to an array of 64-bit slots (a ctypes
array owned by the Python run).  Keeping every piece of per-run state in it
means the generated functions take no hidden globals, so one compiled module
can serve any number of runs and memories.

The region table is an array of :data:`ENTRY_WORDS` slots per region, sorted
by base: ``base`` (the program's address), ``len`` (0 for an inactive stack
frame), ``delta`` (host address minus base) and ``writable``.
"""

from __future__ import annotations

__all__ = [
    "CTX_WORDS", "E_BASE", "E_DELTA", "E_LEN", "E_WRITABLE", "ENTRY_WORDS", "STACK_SIZE", "Ctx", "Status",
]

from enum import IntEnum

STACK_SIZE = 512  # MAX_BPF_STACK: one frame per call level, as in the interpreter


class Ctx(IntEnum):
    """Slot numbers in the run context."""

    STATUS = 0  # a Status
    BUDGET = 1  # instructions left; the count is budget - this at the end
    ERR_PC = 2  # pc of the failing instruction (budget: pc of the segment's first instruction)
    ERR_ADDR = 3
    ERR_SIZE = 4
    ERR_AUX = 5  # fault: 1 for a write; budget: index in the segment of the instruction over the limit
    DEPTH = 6  # current frame (0 = the entry function)
    TABLE = 7  # host address of the region table
    NTABLE = 8  # entries in it
    MAX_DEPTH = 9
    FRAMES = 10  # host address of an array: frame k -> host address of its region-table entry
    HELPER = 11  # host address of the helper callback
    PACKET = 12  # host address of the legacy (LD_ABS/LD_IND) packet, 0 if none
    PACKET_LEN = 13
    REGS = 14  # r0-r10 of the run's end (exit of subprogram 0, or where it stopped), 11 slots


CTX_WORDS = Ctx.REGS + 11


class Status(IntEnum):
    OK = 0
    STOP = 1  # the run ended early with REGS (failed LD_ABS, unwinding helper)
    FAULT = 2  # bad memory access: ERR_PC/ADDR/SIZE/AUX
    BUDGET = 3  # instruction budget exhausted
    DEPTH = 4  # bpf-to-bpf call too deep, at ERR_PC
    PYERR = 5  # a helper call failed; the exception waits on the Python side
    BUDGET_SLOW = 6  # the budget ends inside the segment at ERR_PC: REGS saved, BUDGET = what is left


ENTRY_WORDS = 4
E_BASE, E_LEN, E_DELTA, E_WRITABLE = range(4)
