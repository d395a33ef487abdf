"""The simple path: one instruction at a time, with an optional trace.

This is the readable reference the generated code is tested against (the
hypothesis differential test runs both on random programs).  It is used for
``trace=True`` runs and to finish the last, partial block when the compiled
code finds the instruction budget would run out inside it.

Conventions shared with the compiled path (the verifier forbids programs from
depending on them, but both engines must agree):

* after a helper call or a bpf-to-bpf call, r1-r5 keep the caller's values
  (only r0 changes), and r6-r9 are the caller's (callee-saved);
* a callee starts with the caller's r0-r9 and its own r10.
"""

from __future__ import annotations

from collections.abc import Callable

from ..isa import OPCODES, AluOp, Class, Form, Insn, Mode, OpInfo
from ..runtime.loader import Loaded
from . import semantics as sem
from .result import TraceStep
from .state import RunState, Stop, callx_id

__all__ = ["step_run"]

M64 = sem.M64

_REG_NAMES = tuple(f"r{i}" for i in range(11))


class _Step:
    """What the form handlers share: the machine, the call stack and this step's record."""

    __slots__ = ("before", "calls", "count", "loaded", "mem", "regs", "state", "stored", "trace")

    def __init__(self, state: RunState, loaded: Loaded, regs: list[int],
                 trace: list[TraceStep] | None) -> None:
        self.state = state
        self.loaded = loaded
        self.mem = state.mem
        self.regs = regs
        self.trace = trace
        self.count = 0
        self.calls: list[tuple[int, list[int]]] = []  # (return pc, caller's r1-r10)
        self.before: list[int] | None = None
        self.stored: list[tuple[str, int]] = []

    def stop(self, pc: int, insn: Insn) -> Stop:
        """Record this step and build the Stop that ends the run here."""
        _record(self.trace, pc, insn, self.before, self.regs, self.stored)
        return Stop(tuple(self.regs), self.count)


# A handler executes one instruction and returns the next pc, or None for the
# next instruction in line, or _DONE when the entry frame exits.
_Handler = Callable[[_Step, int, Insn, OpInfo], int | None]
_DONE = -1


def step_run(state: RunState, loaded: Loaded, regs: list[int], pc: int, budget: int,
             trace: list[TraceStep] | None = None) -> tuple[list[int], int]:
    """Run from ``pc`` until the frame that was current at entry exits.

    Executes at most ``budget`` instructions, raising BudgetExceededError at
    the one after.  Returns (registers at the exit, instructions executed).
    Frames pushed here are popped here; the entry frame is the caller's.
    Each instruction runs through :data:`_STEP`, the table keyed by its form.
    """
    program = loaded.program
    ctx = _Step(state, loaded, regs, trace)
    while True:
        insn = program.at(pc)
        if ctx.count >= budget:
            raise state.budget_error(pc)
        ctx.count += 1
        info = OPCODES[insn.opcode]
        ctx.before = list(regs) if trace is not None else None
        ctx.stored = []
        next_pc = _STEP[info.form](ctx, pc, insn, info)
        _record(trace, pc, insn, ctx.before, regs, ctx.stored)
        if next_pc is None:
            pc += insn.width
        elif next_pc == _DONE:
            return regs, ctx.count
        else:
            pc = next_pc


def _alu(c: _Step, pc: int, insn: Insn, info: OpInfo) -> int | None:
    regs = c.regs
    src = regs[insn.src] if insn.source else insn.imm & M64
    regs[insn.dst] = sem.alu(insn.opcode & 0xF0, info.cls is Class.ALU64, insn.off, regs[insn.dst], src)
    return None


def _neg(c: _Step, pc: int, insn: Insn, info: OpInfo) -> int | None:
    c.regs[insn.dst] = sem.alu(AluOp.NEG, info.cls is Class.ALU64, 0, c.regs[insn.dst], 0)
    return None


def _end(c: _Step, pc: int, insn: Insn, info: OpInfo) -> int | None:
    c.regs[insn.dst] = sem.endian(insn.opcode, insn.imm, c.regs[insn.dst])
    return None


def _ld_imm64(c: _Step, pc: int, insn: Insn, info: OpInfo) -> int | None:
    # a "function pointer" is the callee's pc; map loads were resolved at load time
    c.regs[insn.dst] = c.loaded.imm64(pc, insn)
    return None


def _ld_packet(c: _Step, pc: int, insn: Insn, info: OpInfo) -> int | None:
    """LD_ABS and LD_IND: the legacy packet loads."""
    regs = c.regs
    offset = insn.imm + (regs[insn.src] if info.form is Form.LD_IND else 0)
    value = c.state.packet_load(offset, info.nbytes)
    if value is None:  # the kernel ends the program with r0 = 0
        regs[0] = 0
        raise c.stop(pc, insn)
    regs[0] = value
    return None


def _ldx(c: _Step, pc: int, insn: Insn, info: OpInfo) -> int | None:
    size = info.nbytes
    addr = (c.regs[insn.src] + insn.off) & M64
    value = c.mem.load(addr, size, pc=pc) if _ok(c.state, addr, size, False, pc) else 0
    if info.mode is Mode.MEMSX:
        value = sem.sx(value, 8 * size) & M64
    c.regs[insn.dst] = value
    return None


def _store(c: _Step, pc: int, insn: Insn, info: OpInfo) -> int | None:
    """ST and STX: the stored value is the immediate or the source register."""
    size = info.nbytes
    addr = (c.regs[insn.dst] + insn.off) & M64
    value = (insn.imm if info.form is Form.ST else c.regs[insn.src]) & ((1 << (8 * size)) - 1)
    _ok(c.state, addr, size, True, pc)
    c.mem.store(addr, size, value)
    c.stored.append((f"mem[{addr:#x}]/{size}", value))
    return None


def _atomic(c: _Step, pc: int, insn: Insn, info: OpInfo) -> int | None:
    regs = c.regs
    size = info.nbytes
    mask = (1 << (8 * size)) - 1
    addr = (regs[insn.dst] + insn.off) & M64
    _ok(c.state, addr, size, True, pc)  # read-modify-write: fault before anything happens
    old = c.mem.load(addr, size)
    new, fetched = sem.atomic_result(insn.imm, old, regs[insn.src], regs[0], mask)
    if new is not None:
        c.mem.store(addr, size, new)
        c.stored.append((f"mem[{addr:#x}]/{size}", new))
    if insn.imm == 0xF1:
        regs[0] = fetched
    elif insn.imm & 0x01:
        regs[insn.src] = fetched
    return None


def _ja(c: _Step, pc: int, insn: Insn, info: OpInfo) -> int | None:
    target = insn.jump_target(pc)
    assert target is not None
    return target


def _jcond(c: _Step, pc: int, insn: Insn, info: OpInfo) -> int | None:
    regs = c.regs
    b = regs[insn.src] if insn.source else insn.imm & M64
    if sem.jcond(insn.opcode & 0xF0, info.cls is Class.JMP, regs[insn.dst], b):
        target = insn.jump_target(pc)
        assert target is not None
        return target
    return None


def _call(c: _Step, pc: int, insn: Insn, info: OpInfo) -> int | None:
    if insn.src == 1:  # bpf-to-bpf call
        target = insn.jump_target(pc)
        assert target is not None
        regs = c.regs
        r10 = c.state.push_frame(pc)
        c.calls.append((pc + insn.width, regs[1:11]))
        regs[10] = r10
        return target
    return _helper(c, pc, insn, insn.imm)


def _callx(c: _Step, pc: int, insn: Insn, info: OpInfo) -> int | None:
    return _helper(c, pc, insn, callx_id(c.regs[insn.dst], pc))


def _helper(c: _Step, pc: int, insn: Insn, hid: int) -> int | None:
    regs = c.regs
    regs[0] = c.state.call(hid, pc, regs[1], regs[2], regs[3], regs[4], regs[5])
    if regs[0] == 0 and c.state.is_unwind(hid):
        raise c.stop(pc, insn)
    return None


def _exit(c: _Step, pc: int, insn: Insn, info: OpInfo) -> int | None:
    if not c.calls:
        return _DONE
    next_pc, saved = c.calls.pop()
    c.state.pop_frame()
    c.regs[1:11] = saved
    return next_pc


# One executor per instruction form (design notes 2-3); tests/test_tables.py
# checks the keys are exactly the forms in OPCODES.
_STEP: dict[Form, _Handler] = {
    Form.ALU: _alu,
    Form.NEG: _neg,
    Form.END: _end,
    Form.LD_IMM64: _ld_imm64,
    Form.LD_ABS: _ld_packet,
    Form.LD_IND: _ld_packet,
    Form.LDX: _ldx,
    Form.ST: _store,
    Form.STX: _store,
    Form.ATOMIC: _atomic,
    Form.JA: _ja,
    Form.JCOND: _jcond,
    Form.CALL: _call,
    Form.CALLX: _callx,
    Form.EXIT: _exit,
}


def _ok(state: RunState, addr: int, size: int, write: bool, pc: int) -> bool:
    state.region(addr, size, write, pc)  # raises the exact error, naming the instruction
    return True


def _record(trace: list[TraceStep] | None, pc: int, insn: object, before: list[int] | None,
            regs: list[int], stored: list[tuple[str, int]]) -> None:
    if trace is None or before is None:
        return
    changes = [(_REG_NAMES[i], v) for i, (a, v) in enumerate(zip(before, regs, strict=True)) if a != v]
    changes.extend(stored)
    trace.append(TraceStep(pc, insn, tuple(changes)))  # type: ignore[arg-type]
