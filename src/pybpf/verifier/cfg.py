"""Program structure: subprograms, jump ranges, reachability, loops, liveness.

The kernel's passes before path exploration, in its order:
``add_subprog_and_kfunc``/``check_subprogs`` (subprogram starts, jumps
staying inside their subprogram, the last instruction of each being exit or
a jump), ``check_cfg`` (depth-first search: unreachable instructions,
back-edges for unprivileged loads, jumps into the middle of an LD_IMM64)
and ``compute_live_registers`` (which registers each instruction may still
read, printed at log level 2 and used for pruning).

Everything works on *slots* (``pc``), like the kernel: an LD_IMM64 takes
two, and its second half is a pseudo instruction of opcode 0.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..isa import Class, Form, Insn, JmpOp, Mode, Program, Source
from ..isa.opcodes import OPCODES
from .messages import M

__all__ = ["CfgError", "Cfg", "check_subprogs", "check_cfg", "live_regs", "successors"]


class CfgError(Exception):
    """A structural rejection: ``text`` is the kernel's message."""

    def __init__(self, text: str, code: str) -> None:
        self.text = text
        self.code = code
        super().__init__(text)


@dataclass(frozen=True)
class Cfg:
    subprogs: tuple[int, ...]  # start slot of each subprogram, func#0 first


def _slots(prog: Program) -> list[Insn | None]:
    """Instruction per slot; None marks the second half of an LD_IMM64."""
    out: list[Insn | None] = []
    for insn in prog:
        out.append(insn)
        if insn.width == 2:
            out.append(None)
    return out


def _is_pseudo_call(insn: Insn) -> bool:
    return insn.opcode == (Class.JMP | JmpOp.CALL) and insn.src == 1


def _is_pseudo_func(insn: Insn) -> bool:
    return insn.is_ld_imm64 and insn.src == 4


def check_subprogs(prog: Program) -> Cfg:
    """add_subprog_and_kfunc() + check_subprogs()."""
    slots = _slots(prog)
    n = len(slots)
    starts = {0}
    for pc, insn in prog.items():
        if _is_pseudo_call(insn) or _is_pseudo_func(insn):
            target = pc + 1 + (insn.imm if _is_pseudo_call(insn) else _s32(insn.imm))
            if not 0 <= target < n:
                raise CfgError(M.CALL_DEST.format(), M.CALL_DEST.code)
            starts.add(target)
    subprogs = tuple(sorted(starts))
    bounds = [*subprogs, n]
    cur = 0
    start, end = bounds[0], bounds[1]
    for i, slot_insn in enumerate(slots):
        if slot_insn is not None and slot_insn.cls in (Class.JMP, Class.JMP32):
            insn = slot_insn
            op = insn.opcode & 0xF0
            if op not in (JmpOp.EXIT, JmpOp.CALL):
                off = i + insn.imm + 1 if insn.opcode == Class.JMP32 | JmpOp.JA else i + insn.off + 1
                if off < start or off >= end:
                    raise CfgError(M.JUMP_OUT_OF_RANGE.format(frm=i, to=off), M.JUMP_OUT_OF_RANGE.code)
        if i == end - 1:
            code = slot_insn.opcode if slot_insn is not None else 0
            if code not in (Class.JMP | JmpOp.EXIT, Class.JMP32 | JmpOp.JA, Class.JMP | JmpOp.JA):
                raise CfgError(M.LAST_INSN.format(), M.LAST_INSN.code)
            cur += 1
            if cur < len(subprogs):
                start, end = bounds[cur], bounds[cur + 1]
    return Cfg(subprogs)


def _s32(v: int) -> int:
    v &= 0xFFFF_FFFF
    return v - (1 << 32) if v >> 31 else v


def successors(insn: Insn | None, pc: int) -> list[tuple[int, bool]]:
    """(target, loop_ok) edges out of ``pc`` in the order visit_insn() pushes them."""
    if insn is None:
        return [(pc + 1, False)]
    info = OPCODES.get(insn.opcode)
    if info is None:
        return [(pc + 1, False)]
    form = info.form
    if form is Form.EXIT:
        return []
    if form is Form.JA:
        rel = insn.imm if info.cls is Class.JMP32 else insn.off
        return [(pc + 1 + rel, True)]
    if form is Form.JCOND:
        return [(pc + 1, False), (pc + 1 + insn.off, True)]
    if form is Form.CALL and insn.src == 1:
        # A call edge back into an active function is recursion, found by do_check (too deep).
        return [(pc + 1, False), (pc + 1 + insn.imm, True)]
    return [(pc + insn.width, False)]


def check_cfg(prog: Program, *, allow_loops: bool = True) -> None:
    """check_cfg(): DFS from insn 0 (fall-through first), then every slot must be explored."""
    slots = _slots(prog)
    n = len(slots)
    state = [0] * n  # 0 unseen, 1 discovered (on the DFS stack), 2 explored
    # Callees and callback targets are explored too: the kernel pushes them as edges.
    stack: list[tuple[int, int]] = [(0, 0)]
    state[0] = 1
    while stack:
        t, k = stack[-1]
        edges = successors(slots[t], t)
        if slots[t] is not None and _is_pseudo_func(slots[t]):  # type: ignore[arg-type]
            insn = slots[t]
            assert insn is not None
            edges = [(t + 2, False), (t + 1 + _s32(insn.imm), False)]
        if k >= len(edges):
            state[t] = 2
            stack.pop()
            continue
        stack[-1] = (t, k + 1)
        w, loop_ok = edges[k]
        if not 0 <= w < n:
            raise CfgError(M.JUMP_OUT_OF_RANGE.format(frm=t, to=w), M.JUMP_OUT_OF_RANGE.code)
        if state[w] == 0:
            state[w] = 1
            stack.append((w, 0))
        elif state[w] == 1:
            if loop_ok and allow_loops:
                continue
            raise CfgError(M.BACK_EDGE.format(frm=t, to=w), M.BACK_EDGE.code)
    i = 0
    while i < n:
        if state[i] != 2:
            raise CfgError(M.UNREACHABLE.format(insn=i), M.UNREACHABLE.code)
        insn = slots[i]
        if insn is not None and insn.is_ld_imm64:
            if state[i + 1] != 0:
                raise CfgError(M.JUMP_INTO_LDIMM64.format(insn=i), M.JUMP_INTO_LDIMM64.code)
            i += 1
        i += 1


def call_graph(prog: Program, subprogs: tuple[int, ...]) -> dict[int, set[int]]:
    """Subprogram index -> indexes of the subprograms it calls (bpf-to-bpf)."""
    import bisect

    graph: dict[int, set[int]] = {i: set() for i in range(len(subprogs))}
    for pc, insn in prog.items():
        if _is_pseudo_call(insn):
            caller = bisect.bisect_right(subprogs, pc) - 1
            target = pc + 1 + insn.imm
            if target in subprogs:
                graph[caller].add(subprogs.index(target))
    return graph


def _use_def(insn: Insn, helper_args: int | None) -> tuple[int, int]:
    """compute_insn_live_regs(): (registers read, registers written) as bit masks."""
    info = OPCODES.get(insn.opcode)
    if info is None:
        return 0, 0
    d, s = 1 << insn.dst, 1 << insn.src
    form = info.form
    caller_saved = 0b111111
    if form in (Form.ALU,):
        if (insn.opcode & 0xF0) == 0xB0:  # mov
            return (s if info.source is Source.X else 0), d
        return d | (s if info.source is Source.X else 0), d
    if form in (Form.NEG, Form.END):
        return d, d
    if form is Form.LD_IMM64:
        return 0, d
    if form in (Form.LD_ABS, Form.LD_IND):
        use = 1 << 6 | (s if info.mode is Mode.IND else 0)
        return use, caller_saved
    if form is Form.LDX:
        return s, d
    if form is Form.ST:
        return d, 0
    if form is Form.STX:
        return d | s, 0
    if form is Form.ATOMIC:
        if insn.imm == 0xF1:  # cmpxchg reads and writes r0
            return d | s | 1, 1
        return d | s, (s if insn.imm & 1 else 0)
    if form is Form.JCOND:
        return d | (s if info.source is Source.X else 0), 0
    if form is Form.EXIT:
        return 1, 0
    if form is Form.CALL:
        if insn.src == 0 and helper_args is not None:
            return ((1 << (helper_args + 1)) - 2), caller_saved
        return caller_saved & ~1, caller_saved
    if form is Form.CALLX:
        return d, caller_saved
    return 0, 0


def live_regs(prog: Program, helper_args: dict[int, int]) -> dict[int, int]:
    """Live registers before each instruction (bit i = ri), by backward data flow to a fixed point."""
    items = list(prog.items())
    use_def = {pc: _use_def(insn, helper_args.get(insn.imm) if insn.src == 0 else None)
               for pc, insn in items}
    live: dict[int, int] = {pc: 0 for pc, _ in items}
    changed = True
    while changed:
        changed = False
        for pc, insn in reversed(items):
            after = 0
            for w, _ in successors(insn, pc):
                if _is_pseudo_call(insn) and w != pc + 1:
                    continue  # the callee's liveness does not flow into the caller here
                after |= live.get(w, 0)
            use, defs = use_def[pc]
            before = use | (after & ~defs)
            if before != live[pc]:
                live[pc] = before
                changed = True
    return live
