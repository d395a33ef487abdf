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

from ..isa import OPCODES, AluOp, Class, Form, Mode
from ..runtime.loader import Loaded
from . import semantics as sem
from .result import TraceStep
from .state import RunState, Stop, callx_id

__all__ = ["step_run"]

M64 = sem.M64

_REG_NAMES = tuple(f"r{i}" for i in range(11))


def step_run(state: RunState, loaded: Loaded, regs: list[int], pc: int, budget: int,
             trace: list[TraceStep] | None = None) -> tuple[list[int], int]:
    """Run from ``pc`` until the frame that was current at entry exits.

    Executes at most ``budget`` instructions, raising BudgetExceededError at
    the one after.  Returns (registers at the exit, instructions executed).
    Frames pushed here are popped here; the entry frame is the caller's.
    """
    program = loaded.program
    mem = state.mem
    count = 0
    calls: list[tuple[int, list[int]]] = []  # (return pc, caller's r1-r10)
    while True:
        insn = program.at(pc)
        if count >= budget:
            raise state.budget_error(pc)
        count += 1
        info = OPCODES[insn.opcode]
        form = info.form
        before = list(regs) if trace is not None else None
        stored: list[tuple[str, int]] = []
        next_pc = pc + insn.width
        cls = info.cls
        is64 = cls in (Class.ALU64, Class.JMP)
        if form is Form.ALU:
            src = regs[insn.src] if insn.source else insn.imm & M64
            regs[insn.dst] = sem.alu(insn.opcode & 0xF0, cls is Class.ALU64, insn.off, regs[insn.dst], src)
        elif form is Form.NEG:
            regs[insn.dst] = sem.alu(AluOp.NEG, cls is Class.ALU64, 0, regs[insn.dst], 0)
        elif form is Form.END:
            regs[insn.dst] = sem.endian(insn.opcode, insn.imm, regs[insn.dst])
        elif form is Form.LD_IMM64:
            # a "function pointer" is the callee's pc; map loads were resolved at load time
            regs[insn.dst] = loaded.imm64(pc, insn)
        elif form in (Form.LD_ABS, Form.LD_IND):
            offset = insn.imm + (regs[insn.src] if form is Form.LD_IND else 0)
            value = state.packet_load(offset, info.nbytes)
            if value is None:  # the kernel ends the program with r0 = 0
                regs[0] = 0
                _record(trace, pc, insn, before, regs, stored)
                raise Stop(tuple(regs), count)
            regs[0] = value
        elif form is Form.LDX:
            size = info.nbytes
            addr = (regs[insn.src] + insn.off) & M64
            value = mem.load(addr, size, pc=pc) if _ok(state, addr, size, False, pc) else 0
            if info.mode is Mode.MEMSX:
                value = sem.sx(value, 8 * size) & M64
            regs[insn.dst] = value
        elif form in (Form.ST, Form.STX):
            size = info.nbytes
            addr = (regs[insn.dst] + insn.off) & M64
            value = (insn.imm if form is Form.ST else regs[insn.src]) & ((1 << (8 * size)) - 1)
            _ok(state, addr, size, True, pc)
            mem.store(addr, size, value)
            stored.append((f"mem[{addr:#x}]/{size}", value))
        elif form is Form.ATOMIC:
            size = info.nbytes
            mask = (1 << (8 * size)) - 1
            addr = (regs[insn.dst] + insn.off) & M64
            _ok(state, addr, size, True, pc)  # read-modify-write: fault before anything happens
            old = mem.load(addr, size)
            new, fetched = sem.atomic_result(insn.imm, old, regs[insn.src], regs[0], mask)
            if new is not None:
                mem.store(addr, size, new)
                stored.append((f"mem[{addr:#x}]/{size}", new))
            if insn.imm == 0xF1:
                regs[0] = fetched
            elif insn.imm & 0x01:
                regs[insn.src] = fetched
        elif form is Form.JA:
            target = insn.jump_target(pc)
            assert target is not None
            next_pc = target
        elif form is Form.JCOND:
            b = regs[insn.src] if insn.source else insn.imm & M64
            if sem.jcond(insn.opcode & 0xF0, is64, regs[insn.dst], b):
                target = insn.jump_target(pc)
                assert target is not None
                next_pc = target
        elif form in (Form.CALL, Form.CALLX):
            if form is Form.CALL and insn.src == 1:
                target = insn.jump_target(pc)
                assert target is not None
                r10 = state.push_frame(pc)
                calls.append((next_pc, regs[1:11]))
                regs[10] = r10
                next_pc = target
            else:
                hid = insn.imm if form is Form.CALL else callx_id(regs[insn.dst], pc)
                regs[0] = state.call(hid, pc, regs[1], regs[2], regs[3], regs[4], regs[5])
                if regs[0] == 0 and state.is_unwind(hid):
                    _record(trace, pc, insn, before, regs, stored)
                    raise Stop(tuple(regs), count)
        elif form is Form.EXIT:
            if not calls:
                _record(trace, pc, insn, before, regs, stored)
                return regs, count
            next_pc, saved = calls.pop()
            state.pop_frame()
            regs[1:11] = saved
        else:  # pragma: no cover - the loader rejects anything else
            raise AssertionError(form)
        _record(trace, pc, insn, before, regs, stored)
        pc = next_pc


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
