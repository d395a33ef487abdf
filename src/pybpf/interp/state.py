"""Per-run state shared by the generated code and the stepper.

:class:`RunState` owns what one ``run`` needs besides registers: the memory,
the helper context, the budget, and the live stack frames (one 512-byte region
each, removed when the frame returns and, on error, by ``Interpreter.run``).
Its methods are the slow paths the generated code calls: region lookup on a
cache miss, helper calls, frame push/pop.
"""

from __future__ import annotations

from collections.abc import Callable

from ..errors import (
    BudgetExceededError,
    CallDepthError,
    HelperError,
    MemoryAccessError,
    UnknownHelperError,
)
from ..isa import Insn, Program
from ..runtime.helpers import Helper, HelperContext, call_helper
from ..runtime.memory import MASK64, Memory, Region

__all__ = ["STACK_SIZE", "RunState", "Stop", "insn_text"]

STACK_SIZE = 512  # MAX_BPF_STACK


def insn_text(insn: Insn) -> str:
    """The instruction as assembly for error messages (repr if no disassembler is available)."""
    try:
        return str(insn)
    except Exception:  # the disassembler lives in another layer; never let it hide the real error
        return repr(insn)


class Stop(Exception):
    """Ends the whole run early with the given registers (unwind helper, failed LD_ABS)."""

    def __init__(self, regs: tuple[int, ...], insns: int) -> None:
        super().__init__()
        self.regs = regs
        self.insns = insns


class RunState:
    __slots__ = ("_ctx", "budget", "frames", "helpers", "invoke", "max_depth", "mem", "packet", "program")

    def __init__(self, mem: Memory, program: Program, helpers: dict[int, Helper], budget: int,
                 max_depth: int) -> None:
        self.mem = mem
        self.program = program
        self.helpers = helpers
        self.budget = budget
        self.max_depth = max_depth
        self._ctx: HelperContext | None = None
        self.frames: list[Region] = []
        self.packet: Region | None = None
        # Set by the interpreter: invoke(pc, (r1, ..., r5)) -> r0 calls a subprogram.
        self.invoke: Callable[[int, tuple[int, ...]], int] | None = None

    @property
    def ctx(self) -> HelperContext:
        """The helper context, made on the first helper call (most runs never need it)."""
        if self._ctx is None:
            self._ctx = HelperContext(memory=self.mem, program=self.program)
            # Helpers that call back into the program (bpf_loop) find the entry point here.
            self._ctx.state["call_subprog"] = self.call_subprog
        return self._ctx

    # -- memory -----------------------------------------------------------------------
    def region(self, addr: int, size: int, write: bool, pc: int) -> tuple[int, int, bytearray]:
        """(base, last valid start for ``size``, buffer) of the region holding the access.

        This is the cache-miss path of the generated code; it raises the exact
        MemoryAccessError when the access is invalid.
        """
        try:
            region = self.mem.check(addr, size, write, pc=pc)
        except MemoryAccessError:
            region = None
        if region is None:
            # Check again, now paying for the instruction text the message names
            # (outside the except block, so the error is not chained to its twin).
            region = self.mem.check(addr, size, write, pc=pc, insn=insn_text(self.program.at(pc)))
        return region.base, region.base + len(region.buffer) - size, region.buffer

    # -- frames -----------------------------------------------------------------------
    def push_frame(self, pc: int) -> int:
        """Map a new stack frame for a call at ``pc``; returns its r10."""
        if len(self.frames) >= self.max_depth:
            raise CallDepthError(
                f"call stack too deep: more than {self.max_depth} frames", pc=pc,
                insn=insn_text(self.program.at(pc)))
        region = self.mem.add(f"stack{len(self.frames)}" if self.frames else "stack", STACK_SIZE,
                              kind="stack")
        self.frames.append(region)
        return region.end

    def pop_frame(self) -> None:
        self.mem.remove(self.frames.pop())

    def release(self) -> None:
        """Unmap every frame still live and the packet (end of run, also on error)."""
        while self.frames:
            self.pop_frame()
        if self.packet is not None:
            self.mem.remove(self.packet)
            self.packet = None

    # -- helpers ------------------------------------------------------------------------
    def call(self, hid: int, pc: int, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
        helper = self.helpers.get(hid)
        if helper is None:
            raise UnknownHelperError(f"call to unknown helper {hid}", pc=pc,
                                     insn=insn_text(self.program.at(pc)))
        return call_helper(helper, self.ctx, pc, lambda: insn_text(self.program.at(pc)), r1, r2, r3, r4, r5)

    def call_subprog(self, pc: int, *args: int) -> int:
        """Run the subprogram at ``pc`` with r1.. = ``args`` (at most 5); its r0."""
        if self.invoke is None:
            raise HelperError("this run cannot call back into the program", pc=pc)
        return self.invoke(pc, args)

    def is_unwind(self, hid: int) -> bool:
        helper = self.helpers.get(hid)
        return helper is not None and helper.unwind

    # -- legacy packet loads --------------------------------------------------------------
    def packet_load(self, offset: int, size: int) -> int | None:
        """Big-endian load from the run's packet, or None when out of bounds (the run ends, r0 = 0)."""
        offset &= 0xFFFF_FFFF
        if offset >> 31:  # negative s32 offsets (SKF_* ancillary data) are not modelled: out of bounds
            return None
        pkt = self.packet
        if pkt is None or offset + size > len(pkt.buffer):
            return None
        return int.from_bytes(pkt.buffer[offset:offset + size], "big")

    def budget_error(self, pc: int) -> BudgetExceededError:
        return BudgetExceededError(f"instruction budget of {self.budget} exhausted", pc=pc,
                                   insn=insn_text(self.program.at(pc)))


def callx_id(value: int, pc: int) -> int:
    """The helper id a callx register holds (uBPF semantics: callx calls a helper)."""
    if value > 0x7FFF_FFFF:
        raise HelperError(f"callx target {value & MASK64:#x} is not a helper id", pc=pc)
    return value
