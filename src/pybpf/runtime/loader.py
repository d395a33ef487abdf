"""Load-time checks: what every engine (interpreter, JIT) refuses before running anything.

These mirror the structural checks the kernel makes before (or instead of)
verification: ``check_subprogs`` ("jump out of range", "last insn is not an
exit or jmp"), the instruction count limit, and the helper/kfunc/pseudo-source
checks that need an environment pybpf does not have yet.  One module, so the
interpreter and the JIT refuse exactly the same programs with the same words.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from ..errors import DecodeError, PyBpfError, UnknownHelperError
from ..isa import OPCODES, CallSrc, Form, Insn, Program, PseudoSrc, validate
from .helpers import Helper, HelperRegistry

__all__ = ["MAP_PSEUDO_SRCS", "MAX_SLOTS", "Loaded", "Resolver", "Subprog", "load"]

MAX_SLOTS = 1_000_000  # kernel BPF_COMPLEXITY_LIMIT_INSNS

# LD_IMM64 sources that name a map: the runtime resolves them at load time,
# as the kernel's resolve_pseudo_ldimm64() turns fds into map addresses.
MAP_PSEUDO_SRCS = frozenset({PseudoSrc.MAP_FD, PseudoSrc.MAP_VALUE, PseudoSrc.MAP_IDX,
                             PseudoSrc.MAP_IDX_VALUE})

Resolver = Callable[[int, Insn], int]
"""``resolver(pc, insn) -> value``: the 64-bit value a map LD_IMM64 loads (a map
pointer or a pointer into a map value).  It raises a PyBpfError to refuse."""


@dataclass(frozen=True)
class Subprog:
    """Slots ``[start, end)`` of one function (subprogram 0 is the entry)."""

    index: int
    start: int
    end: int


@dataclass(frozen=True)
class Loaded:
    program: Program
    subprogs: tuple[Subprog, ...]
    helpers: dict[int, Helper]  # snapshot of the registry at load time
    # pc -> resolved value of each map LD_IMM64 (empty without a resolver)
    consts: Mapping[int, int] = field(default_factory=dict)

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


def _reject(reason: str, pc: int) -> DecodeError:
    return DecodeError(reason, pc=pc)


def load(program: Program, helpers: HelperRegistry | None, *, max_slots: int = MAX_SLOTS,
         resolver: Resolver | None = None) -> Loaded:
    """Check ``program`` and split it into subprograms, or raise naming the pc.

    ``helpers=None`` skips the helper-id check (compiling only: helpers are
    bound when the program runs).

    ``max_slots`` is the size limit: the kernel's 1,000,000 by default; a
    harness that emulates another runtime's profile (uBPF: 65536) lowers it.
    ``resolver`` gives the value of map LD_IMM64s (pseudo sources 1, 2, 5, 6);
    without one they are refused.
    """
    if len(program) == 0:
        raise DecodeError("empty program")
    if program.slot_count > max_slots:
        raise _reject(f"program too large: {program.slot_count} slots (the limit is {max_slots})",
                      max_slots)
    validate(program)

    starts = {0}
    for pc, insn in program.items():
        info = OPCODES[insn.opcode]
        if info.form is Form.CALL and insn.src == CallSrc.LOCAL:
            starts.add(pc + 1 + insn.imm)
        elif info.form is Form.LD_IMM64 and insn.src == PseudoSrc.FUNC:
            target = insn.jump_target(pc)
            assert target is not None
            starts.add(target)
    ordered = sorted(starts)
    bounds = [*ordered, program.slot_count]
    subprogs = tuple(Subprog(i, bounds[i], bounds[i + 1]) for i in range(len(ordered)))

    snapshot: dict[int, Helper] = {}
    consts: dict[int, int] = {}
    for sp in subprogs:
        for pc in range(sp.start, sp.end):
            if program.index_of(pc) is not None:
                insn = program.at(pc)
                if resolver is not None and OPCODES[insn.opcode].form is Form.LD_IMM64 \
                        and insn.src in MAP_PSEUDO_SRCS:
                    consts[pc] = _resolve(resolver, pc, insn)
                    continue
                _check_insn(pc, insn, sp, helpers, snapshot)
        last_pc = _last_pc(program, sp)
        last = program.at(last_pc)
        if OPCODES[last.opcode].form not in (Form.EXIT, Form.JA):
            raise _reject("last insn is not an exit or jmp", last_pc)
    if helpers is not None:
        for hid in helpers:
            snapshot.setdefault(hid, helpers[hid])  # callx may reach any registered helper
    return Loaded(program, subprogs, snapshot, consts)


def _resolve(resolver: Resolver, pc: int, insn: Insn) -> int:
    try:
        value = resolver(pc, insn)
    except PyBpfError as exc:
        if exc.pc is None:
            exc.pc = pc
            exc.args = (exc._format(),)
        raise
    return value & ((1 << 64) - 1)


def _last_pc(program: Program, sp: Subprog) -> int:
    pc = sp.end - 1
    while program.index_of(pc) is None:  # second slot of an LD_IMM64
        pc -= 1
    return pc


def _check_insn(pc: int, insn: Insn, sp: Subprog, helpers: HelperRegistry | None,
                snapshot: dict[int, Helper]) -> None:
    info = OPCODES[insn.opcode]
    form = info.form
    if form in (Form.JA, Form.JCOND):
        target = insn.jump_target(pc)
        assert target is not None
        if form is Form.JA and target == pc:
            raise _reject("infinite loop: jump to itself", pc)
        if not sp.start <= target < sp.end:
            raise _reject(f"jump out of range from insn {pc} to {target}", pc)
    elif form is Form.CALL:
        if insn.src == CallSrc.HELPER and helpers is not None:
            helper = helpers.get(insn.imm)
            if helper is None:
                raise UnknownHelperError(f"call to unknown helper {insn.imm}", pc=pc)
            snapshot[insn.imm] = helper
        elif insn.src == CallSrc.KFUNC:
            raise _reject(f"kfunc calls are not supported (btf id {insn.imm})", pc)
    elif form is Form.LD_IMM64 and insn.src not in (PseudoSrc.IMM, PseudoSrc.FUNC):
        raise _reject(
            f"ld_imm64 with pseudo source {PseudoSrc(insn.src).name} needs a map/BTF environment, "
            "which this run does not have", pc)
