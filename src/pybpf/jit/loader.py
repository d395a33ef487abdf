"""Load-time checks for the JIT: the same refusals as the interpreter's loader.

The JIT may not import :mod:`pybpf.interp` (the layering test), so the
structural checks the kernel makes before verification (``check_subprogs``:
"jump out of range", "last insn is not an exit or jmp"; the slot limit;
helper/kfunc/pseudo-source support) are restated here with the same messages.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from ..errors import DecodeError, PyBpfError, UnknownHelperError
from ..isa import OPCODES, CallSrc, Form, Insn, Program, PseudoSrc, validate
from ..runtime.helpers import HelperRegistry

__all__ = ["MAP_PSEUDO_SRCS", "MAX_SLOTS", "Layout", "Resolver", "Subprog", "check"]

MAX_SLOTS = 1_000_000  # kernel BPF_COMPLEXITY_LIMIT_INSNS

# LD_IMM64 sources that name a map: resolved at load time (the kernel's resolve_pseudo_ldimm64()).
MAP_PSEUDO_SRCS = frozenset({PseudoSrc.MAP_FD, PseudoSrc.MAP_VALUE, PseudoSrc.MAP_IDX,
                             PseudoSrc.MAP_IDX_VALUE})

Resolver = Callable[[int, Insn], int]
"""``resolver(pc, insn) -> value`` of a map LD_IMM64 (the interpreter's resolver contract)."""


@dataclass(frozen=True)
class Subprog:
    """Slots ``[start, end)`` of one function (subprogram 0 is the entry)."""

    index: int
    start: int
    end: int


@dataclass(frozen=True)
class Layout:
    program: Program
    subprogs: tuple[Subprog, ...]
    consts: Mapping[int, int] = field(default_factory=dict)  # pc -> resolved map LD_IMM64 value

    def imm64(self, pc: int, insn: Insn) -> int:
        """The value the LD_IMM64 at ``pc`` loads (FUNC: the callee's pc)."""
        if insn.src == PseudoSrc.FUNC:
            target = insn.jump_target(pc)
            assert target is not None
            return target
        return self.consts.get(pc, insn.imm)

    def subprog_at(self, pc: int) -> Subprog:
        for sp in self.subprogs:
            if sp.start <= pc < sp.end:
                return sp
        raise IndexError(pc)


def check(program: Program, helpers: HelperRegistry | None, *, max_slots: int = MAX_SLOTS,
          resolver: Resolver | None = None) -> Layout:
    """Check ``program`` and split it into subprograms, or raise naming the pc.

    ``helpers=None`` skips the helper-id check (compiling only: helpers are
    bound when the program runs).  ``resolver`` gives the values of map
    LD_IMM64s; without one they are refused.
    """
    if len(program) == 0:
        raise DecodeError("empty program")
    if program.slot_count > max_slots:
        raise DecodeError(f"program too large: {program.slot_count} slots (the limit is {max_slots})",
                          pc=max_slots)
    validate(program)
    starts = {0}
    for pc, insn in program.items():
        form = OPCODES[insn.opcode].form
        if (form is Form.CALL and insn.src == CallSrc.LOCAL) or (
                form is Form.LD_IMM64 and insn.src == PseudoSrc.FUNC):
            target = insn.jump_target(pc)
            assert target is not None
            starts.add(target)
    ordered = sorted(starts)
    bounds = [*ordered, program.slot_count]
    subprogs = tuple(Subprog(i, bounds[i], bounds[i + 1]) for i in range(len(ordered)))
    consts: dict[int, int] = {}
    for sp in subprogs:
        last_pc = sp.start
        for pc in range(sp.start, sp.end):
            if program.index_of(pc) is None:
                continue
            last_pc = pc
            insn = program.at(pc)
            if resolver is not None and OPCODES[insn.opcode].form is Form.LD_IMM64 \
                    and insn.src in MAP_PSEUDO_SRCS:
                consts[pc] = _resolve(resolver, pc, insn)
                continue
            _check_insn(program, pc, sp, helpers)
        if OPCODES[program.at(last_pc).opcode].form not in (Form.EXIT, Form.JA):
            raise DecodeError("last insn is not an exit or jmp", pc=last_pc)
    return Layout(program, subprogs, consts)


def _resolve(resolver: Resolver, pc: int, insn: Insn) -> int:
    try:
        value = resolver(pc, insn)
    except PyBpfError as exc:
        if exc.pc is None:  # name the instruction, as the interpreter's loader does
            exc.pc = pc
            exc.args = (exc._format(),)
        raise
    return value & ((1 << 64) - 1)


def _check_insn(program: Program, pc: int, sp: Subprog, helpers: HelperRegistry | None) -> None:
    insn = program.at(pc)
    form = OPCODES[insn.opcode].form
    if form in (Form.JA, Form.JCOND):
        target = insn.jump_target(pc)
        assert target is not None
        if form is Form.JA and target == pc:
            raise DecodeError("infinite loop: jump to itself", pc=pc)
        if not sp.start <= target < sp.end:
            raise DecodeError(f"jump out of range from insn {pc} to {target}", pc=pc)
    elif form is Form.CALL:
        if insn.src == CallSrc.HELPER:
            if helpers is not None and insn.imm not in helpers:
                raise UnknownHelperError(f"call to unknown helper {insn.imm}", pc=pc)
        elif insn.src == CallSrc.KFUNC:
            raise DecodeError(f"kfunc calls are not supported (btf id {insn.imm})", pc=pc)
    elif form is Form.LD_IMM64 and insn.src not in (PseudoSrc.IMM, PseudoSrc.FUNC):
        raise DecodeError(
            f"ld_imm64 with pseudo source {PseudoSrc(insn.src).name} needs a map/BTF environment, "
            "which this interpreter does not have", pc=pc)
