"""Hypothesis strategies for eBPF instructions and programs, derived from ``OPCODES``.

For reuse by decoder, assembler, interpreter and JIT property tests:

``valid_insns(max_cpu=4, forms=None)``
    One instruction the decoder accepts on its own: every opcode of
    :data:`pybpf.isa.OPCODES` (restricted to ISA version ``max_cpu`` and to
    ``forms`` if given) with fields drawn from what the table allows: lddw with
    every pseudo src 0-6, sdiv/smod (off=1), movsx (off=8/16/32), END widths,
    every atomic op, gotol, callx, helper/local/kfunc calls.  Registers are
    r0-r10 and never a write to r10.  Jump offsets are arbitrary: use
    ``valid_programs`` for jumps that land.
``valid_programs(min_size=1, max_size=24, max_cpu=4, forms=None)``
    A :class:`~pybpf.isa.Program` that passes :func:`pybpf.isa.validate`:
    every jump, gotol, local call and callback lddw (src=4) lands on an
    instruction start inside the program, and the last instruction is exit.
    Programs are *structurally* valid only: they may loop forever, divide by
    zero or read anything, so an interpreter test must give them a budget.
``insns_for(info)``: valid instructions of one opcode (an ``OPCODES`` entry).
``insn_fields(insn)``: the fields as a tuple, for readable failure output.
"""

from __future__ import annotations

from hypothesis import strategies as st

from pybpf.isa import FP, OPCODES, CallSrc, Class, Form, Insn, OpInfo, Program, PseudoSrc

__all__ = ["insn_fields", "opcode_infos", "valid_insns", "valid_programs"]

_S16 = st.integers(-(1 << 15), (1 << 15) - 1)
_S32 = st.integers(-(1 << 31), (1 << 31) - 1)
_U32 = st.integers(0, (1 << 32) - 1)
_U64 = st.integers(0, (1 << 64) - 1)
# interesting values first, so shrinking lands on readable ones
_S32_EDGES = st.one_of(st.sampled_from([0, 1, -1, 0x7FFF_FFFF, -(1 << 31), 16, 32, 64]), _S32)
_U64_EDGES = st.one_of(st.sampled_from([0, 1, (1 << 64) - 1, 1 << 63, 0xFFFF_FFFF, 1 << 32]), _U64)
_JUMPS = (Form.JA, Form.JCOND)


def opcode_infos(max_cpu: int = 4, forms: frozenset[Form] | None = None) -> list[OpInfo]:
    """The table entries the strategies draw from, in opcode order."""
    return [i for op, i in sorted(OPCODES.items())
            if i.cpu <= max_cpu and (forms is None or i.form in forms)]


def _choice(allowed: frozenset[int] | None, default: st.SearchStrategy[int]) -> st.SearchStrategy[int]:
    return st.sampled_from(sorted(allowed)) if allowed is not None else default


@st.composite
def insns_for(draw: st.DrawFn, info: OpInfo) -> Insn:
    """Valid instructions with exactly this opcode."""
    regs = range(FP) if info.writes_dst else range(FP + 1)
    dst = draw(_choice(info.dsts, st.sampled_from(list(regs))))
    src = draw(_choice(info.srcs, st.integers(0, FP)))
    off = draw(_choice(info.offs, _S16))
    imm = draw(_choice(info.imms, _S32_EDGES))
    if info.form is Form.LD_IMM64:
        # MAP_FD/MAP_IDX/FUNC take a 32-bit value (the kernel wants the high half zero)
        narrow = src in (PseudoSrc.MAP_FD, PseudoSrc.MAP_IDX, PseudoSrc.FUNC)
        imm = draw(_U32) if narrow else draw(_U64_EDGES)
    elif info.form is Form.CALL:
        if src == CallSrc.HELPER:
            imm = draw(st.one_of(st.integers(1, 211), _S32))
        off = draw(_S16) if src == CallSrc.KFUNC else 0
    elif info.form is Form.ATOMIC and imm & 0x01 and imm != 0xF1 and src == FP:
        src = draw(st.integers(0, FP - 1))  # fetch/xchg load into src: not r10
    return Insn(info.opcode, dst, src, off, imm)


def valid_insns(max_cpu: int = 4, forms: frozenset[Form] | None = None) -> st.SearchStrategy[Insn]:
    """Any single valid instruction (see the module docstring)."""
    infos = opcode_infos(max_cpu, forms)
    if not infos:
        raise ValueError("no opcode matches max_cpu/forms")
    return st.sampled_from(infos).flatmap(insns_for)


def retarget(insn: Insn, pc: int, target: int) -> Insn:
    """``insn`` at ``pc`` made to jump/call to slot ``target`` (unchanged if it does not jump)."""
    rel = target - (pc + 1)
    form = insn.form
    if form is Form.JA and insn.cls is Class.JMP32:
        return insn.replace(imm=rel)
    if form in _JUMPS:
        return insn.replace(off=rel)
    if form is Form.CALL and insn.src == CallSrc.LOCAL:
        return insn.replace(imm=rel)
    if form is Form.LD_IMM64 and insn.src == PseudoSrc.FUNC:
        return insn.replace(imm=rel & 0xFFFF_FFFF)
    return insn


def _needs_target(insn: Insn) -> bool:
    form = insn.form
    return (form in _JUMPS or (form is Form.CALL and insn.src == CallSrc.LOCAL)
            or (form is Form.LD_IMM64 and insn.src == PseudoSrc.FUNC))


@st.composite
def valid_programs(draw: st.DrawFn, min_size: int = 1, max_size: int = 24, max_cpu: int = 4,
                   forms: frozenset[Form] | None = None) -> Program:
    """A structurally valid program ending with exit (see the module docstring)."""
    body = draw(st.lists(valid_insns(max_cpu, forms), min_size=max(0, min_size - 1),
                         max_size=max(0, max_size - 1)))
    insns = [*body, Insn(0x95)]
    starts = Program(insns)
    pcs = [starts.slot_of(i) for i in range(len(insns))]
    out = []
    for i, insn in enumerate(insns):
        if _needs_target(insn):
            target = draw(st.sampled_from(pcs))
            insn = retarget(insn, pcs[i], target)
        out.append(insn)
    return Program(out)


def insn_fields(insn: Insn) -> tuple[int, int, int, int, int]:
    return (insn.opcode, insn.dst, insn.src, insn.off, insn.imm)
