"""Verifier states: frames of registers and stack, acquired references, and pruning.

``FuncState``/``VState`` are ``struct bpf_func_state``/``bpf_verifier_state``.
:func:`states_equal` is the kernel's pruning test (``states_equal`` /
``regsafe`` / ``stacksafe`` / ``refsafe``): an explored, safe state makes a
new state at the same instruction safe when the old one is at least as
general.  pybpf does not yet track scalar precision (``mark_chain_precision``)
so every scalar counts as precise: less pruning than Linux, never unsound.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..platform.types import RegType
from .regstate import RegState
from .stack import SlotKind, StackState

__all__ = ["FuncState", "VState", "Explored", "states_equal", "states_exact"]


class FuncState:
    __slots__ = ("regs", "stack", "frameno", "callsite", "subprog")

    def __init__(self, frameno: int = 0, callsite: int = -1, subprog: int = 0) -> None:
        self.regs = [RegState() for _ in range(11)]
        for r in self.regs:
            r.mark_not_init()
        self.stack = StackState()
        self.frameno = frameno
        self.callsite = callsite
        self.subprog = subprog

    def copy(self) -> FuncState:
        f = FuncState.__new__(FuncState)
        f.regs = [r.copy() for r in self.regs]
        f.stack = self.stack.copy()
        f.frameno, f.callsite, f.subprog = self.frameno, self.callsite, self.subprog
        return f


@dataclass
class Explored:
    """A state kept at a prune point (``struct bpf_verifier_state_list``)."""

    state: VState
    branches: int = 1
    parent: Explored | None = None
    hits: int = 0
    misses: int = 0


@dataclass
class VState:
    frames: list[FuncState]
    refs: list[tuple[int, int]] = field(default_factory=list)  # (id, alloc insn)
    parent: Explored | None = None

    @property
    def cur(self) -> FuncState:
        return self.frames[-1]

    def copy(self) -> VState:
        return VState([f.copy() for f in self.frames], list(self.refs), self.parent)

    def all_regs(self) -> list[RegState]:
        """Every register and spilled register of every frame (bpf_for_each_reg_in_vstate)."""
        out: list[RegState] = []
        for f in self.frames:
            out += f.regs
            out += [s.spilled for s in f.stack.slots if s.is_spill]
        return out


class _IdMap:
    def __init__(self) -> None:
        self.fwd: dict[int, int] = {}
        self.back: dict[int, int] = {}

    def check(self, old: int, cur: int) -> bool:
        """check_ids(): a consistent one-to-one renaming of ids."""
        if not old and not cur:
            return True
        if not old or not cur:
            return False
        if old in self.fwd:
            return self.fwd[old] == cur
        if cur in self.back:
            return False
        self.fwd[old] = cur
        self.back[cur] = old
        return True


def _regs_exact(o: RegState, c: RegState, ids: _IdMap) -> bool:
    return (o.type is c.type and o.flags == c.flags and o.off == c.off and o.range == c.range
            and o.map is c.map and o.mem_size == c.mem_size and o.frameno == c.frameno
            and o.bounds_equal(c) and ids.check(o.id, c.id) and ids.check(o.ref_obj_id, c.ref_obj_id))


def _regsafe(o: RegState, c: RegState, ids: _IdMap, exact: bool) -> bool:
    if exact:
        return _regs_exact(o, c, ids)
    if o.type is RegType.NOT_INIT:
        return True
    if o.type is not c.type or o.flags != c.flags:
        return False
    t = o.type
    if t is RegType.SCALAR_VALUE:
        return ids.check(o.id, c.id) and o.range_within(c) and _tnum_in(o, c)
    if t in (RegType.PTR_TO_MAP_KEY, RegType.PTR_TO_MAP_VALUE, RegType.PTR_TO_MEM):
        return (o.off == c.off and o.map is c.map and o.mem_size == c.mem_size and o.range_within(c)
                and _tnum_in(o, c) and ids.check(o.id, c.id) and ids.check(o.ref_obj_id, c.ref_obj_id))
    if t in (RegType.PTR_TO_PACKET, RegType.PTR_TO_PACKET_META):
        if o.range < 0 or c.range < 0:
            if o.range != c.range:
                return False
        elif o.range > c.range:
            return False
        return o.off == c.off and ids.check(o.id, c.id) and o.range_within(c) and _tnum_in(o, c)
    return _regs_exact(o, c, ids)


def _tnum_in(o: RegState, c: RegState) -> bool:
    from .tnum import tnum_in

    return tnum_in(o.var_off, c.var_off)


def _stacksafe(o: StackState, c: StackState, ids: _IdMap, exact: bool, allow_uninit: bool) -> bool:
    for spi, oslot in enumerate(o.slots):
        for idx in range(8):
            ok = oslot.kinds[idx]
            if not exact and ok is SlotKind.INVALID:
                continue
            if not exact and allow_uninit and ok is SlotKind.MISC:
                continue
            if spi >= len(c.slots):
                if exact and ok is SlotKind.INVALID:
                    continue
                return False
            ck = c.slots[spi].kinds[idx]
            if not exact and ok is SlotKind.MISC and ck is SlotKind.ZERO:
                continue
            if ok is not ck:
                return False
        spill = oslot.kinds[7] is SlotKind.SPILL and spi < len(c.slots)
        if spill and not _regsafe(oslot.spilled, c.slots[spi].spilled, ids, exact):
            return False
    if exact and len(c.slots) > len(o.slots):
        return all(not s.valid for s in c.slots[len(o.slots):])
    return True


def states_equal(old: VState, cur: VState, live: int, *, exact: bool = False,
                 allow_uninit: bool = True) -> bool:
    """Is ``cur`` covered by the explored ``old`` (``exact``: identical, for loop detection)?

    ``live`` is the mask of registers of the current frame still read later.
    """
    if len(old.frames) != len(cur.frames):
        return False
    ids = _IdMap()
    if len(old.refs) != len(cur.refs):
        return False
    for (oid, _), (cid, _) in zip(old.refs, cur.refs, strict=True):
        if not ids.check(oid, cid):
            return False
    for depth, (of, cf) in enumerate(zip(old.frames, cur.frames, strict=True)):
        if of.callsite != cf.callsite:
            return False
        top = depth == len(old.frames) - 1
        for i in range(11):
            if top and i < 10 and not exact and not live >> i & 1:
                continue
            if not _regsafe(of.regs[i], cf.regs[i], ids, exact):
                return False
        if not _stacksafe(of.stack, cf.stack, ids, exact, allow_uninit):
            return False
    return True


def states_exact(old: VState, cur: VState) -> bool:
    return states_equal(old, cur, 0x7FF, exact=True)
