"""Code relocations and bpf-to-bpf linking, the way libbpf does them.

Two steps:

1. :func:`apply_relocations` rewrites the instructions of one code section
   in place for each ``R_BPF_64_64``/``R_BPF_64_32`` entry: map loads become
   LD_IMM64 ``src=1``/``src=2`` with ``meta`` naming the map, calls and
   function addresses get a ``meta["target"]`` = (section, slot) because
   their final offset depends on where the callee lands.
2. :func:`link` builds one self-contained program: the function itself, then
   each subprogram it reaches (transitively), with every call ``imm`` fixed to
   the callee's new relative offset (libbpf's ``bpf_object__reloc_code``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from ..errors import ElfError
from ..isa import CallSrc, Class, Form, Insn, Program, PseudoSrc
from .spec import MapReference

__all__ = ["R_BPF", "CodeSection", "Function", "Linked", "Relocation", "Resolved", "apply_relocations",
           "link"]

# LLVM's BPF relocation types (llvm/BinaryFormat/ELFRelocs/BPF.def)
R_BPF = {
    0: "R_BPF_NONE",
    1: "R_BPF_64_64",
    2: "R_BPF_64_ABS64",
    3: "R_BPF_64_ABS32",
    4: "R_BPF_64_NODYLD32",
    10: "R_BPF_64_32",
}
R_BPF_NONE = 0
R_BPF_64_64 = 1
R_BPF_64_32 = 10


@dataclass(frozen=True)
class Function:
    """A function symbol in a code section: slots ``[start, end)``."""

    name: str
    section: str
    start: int
    end: int


@dataclass
class CodeSection:
    """One executable section: its instructions keyed by slot, and its functions."""

    name: str
    insns: dict[int, Insn]  # slot -> instruction
    slots: int
    functions: list[Function] = field(default_factory=list)

    def function_at(self, slot: int) -> Function | None:
        for f in self.functions:
            if f.start <= slot < f.end:
                return f
        return None


@dataclass(frozen=True)
class Resolved:
    """What a relocation's symbol designates, as the loader found it.

    ``kind``: ``"map"`` (a map definition: ``map`` named), ``"data"`` (a global
    data section: ``map`` is its map, ``offset`` the symbol's offset in it), or
    ``"code"`` (a code section: ``section`` named, ``offset`` in bytes).
    """

    kind: str
    name: str  # the symbol's name, for messages and MapReference.symbol
    map: str = ""
    section: str = ""
    offset: int = 0
    size: int = 0  # "data": the map value's size


@dataclass(frozen=True)
class Relocation:
    index: int
    offset: int  # byte offset in the code section
    type: int
    symbol: str
    resolve: Callable[[], Resolved]


def apply_relocations(sec: CodeSection, relocs: Sequence[Relocation]) -> None:
    """Rewrite ``sec.insns`` for each relocation (see the module docstring)."""
    for r in relocs:
        where: dict[str, Any] = {"section": sec.name, "relocation": r.index, "symbol": r.symbol,
                                 "offset": r.offset}
        if r.type == R_BPF_NONE:
            continue
        if r.offset % 8:
            raise ElfError("relocation offset is not on an instruction boundary", **where)
        slot = r.offset // 8
        insn = sec.insns.get(slot)
        if insn is None:
            raise ElfError("relocation does not point at the start of an instruction", **where)
        target = r.resolve()
        rname = R_BPF.get(r.type, f"type {r.type}")
        if r.type == R_BPF_64_32:
            if not (insn.form is Form.CALL and insn.src == CallSrc.LOCAL):
                raise ElfError(f"{rname} on an instruction that is not a bpf-to-bpf call ({insn!r})", **where)
            if target.kind != "code":
                raise ElfError(f"call relocation against a {target.kind} symbol, not a function", **where)
            # libbpf: sub_insn_idx = sym_off / 8 + imm + 1
            dest = target.offset // 8 + insn.imm + 1
            sec.insns[slot] = insn.with_meta(target=(target.section, dest), symbol=target.name)
        elif r.type == R_BPF_64_64:
            if not insn.is_ld_imm64:
                raise ElfError(f"{rname} on an instruction that is not LD_IMM64 ({insn!r})", **where)
            addend = _s32(insn.imm & 0xFFFF_FFFF)
            if target.kind == "map":
                sec.insns[slot] = insn.replace(src=PseudoSrc.MAP_FD, imm=0).with_meta(
                    map=target.map, symbol=target.name)
            elif target.kind == "data":
                off = target.offset + addend
                if not 0 <= off <= target.size:  # one past the end is a valid C pointer
                    raise ElfError(f"offset {off} is outside {target.map!r} ({target.size} bytes)", **where)
                # second half's imm is the offset; the first will hold the map fd
                value = insn.replace(src=PseudoSrc.MAP_VALUE, imm=(off & 0xFFFF_FFFF) << 32)
                sec.insns[slot] = value.with_meta(map=target.map, map_offset=off, symbol=target.name)
            elif target.kind == "code":
                # A function's address (bpf_loop callback): libbpf's
                # RELO_SUBPROG_ADDR, sub_insn_idx = sym_off / 8 + imm / 8.
                byte_off = target.offset + addend
                if byte_off % 8:
                    raise ElfError(f"function address {byte_off} is not instruction aligned", **where)
                sec.insns[slot] = insn.replace(src=PseudoSrc.FUNC).with_meta(
                    target=(target.section, byte_off // 8), symbol=target.name)
            else:
                raise ElfError(f"LD_IMM64 relocation against unsupported {target.kind} symbol", **where)
        else:
            raise ElfError(f"unsupported relocation type {rname} in a code section", **where)


def _s32(v: int) -> int:
    return v - (1 << 32) if v >> 31 else v


@dataclass(frozen=True)
class Linked:
    """A linked program: ``placement`` says where each function landed (first slot)."""

    program: Program
    placement: tuple[tuple[Function, int], ...]
    map_references: tuple[MapReference, ...]

    @property
    def subprograms(self) -> dict[str, int]:
        return {fn.name: at for fn, at in self.placement[1:]}

    def out_slot(self, section: str, slot: int) -> int | None:
        """Where slot ``slot`` of ``section`` landed in the linked program, if it was copied."""
        for fn, at in self.placement:
            if fn.section == section and fn.start <= slot < fn.end:
                return at + slot - fn.start
        return None


def link(main: Function, sections: Mapping[str, CodeSection]) -> Linked:
    """The linked program of ``main``: itself, then every subprogram it reaches."""
    placed: dict[tuple[str, str], int] = {}  # (section, function) -> first slot in the output
    order: list[Function] = []

    def place(fn: Function, at: int) -> None:
        placed[(fn.section, fn.name)] = at
        order.append(fn)

    place(main, 0)
    out: list[tuple[Function, int, Insn]] = []  # (function, original slot, insn)
    next_slot = main.end - main.start
    i = 0
    while i < len(order):
        fn = order[i]
        i += 1
        sec = sections[fn.section]
        slot = fn.start
        while slot < fn.end:
            insn = sec.insns.get(slot)
            if insn is None:
                raise ElfError(f"function {fn.name!r} ends in the middle of an LD_IMM64",
                               section=fn.section, symbol=fn.name, offset=slot * 8)
            target = _call_target(sec.name, slot, insn)
            if target is not None:
                callee = _callee(target, sections, fn, slot)
                if (callee.section, callee.name) not in placed:
                    place(callee, next_slot)
                    next_slot += callee.end - callee.start
            out.append((fn, slot, insn))
            slot += insn.width
    insns: list[Insn] = []
    refs: list[MapReference] = []
    pc = 0
    for fn, slot, insn in out:
        target = _call_target(fn.section, slot, insn)
        if target is not None:
            callee = _callee(target, sections, fn, slot)
            dest = placed[(callee.section, callee.name)] + target[1] - callee.start
            rel = dest - (pc + 1)
            # The (section, slot) target is stale once linked: keep only the callee's name.
            insn = insn.replace(imm=rel & 0xFFFF_FFFF if insn.is_ld_imm64 else rel,
                                meta=MappingProxyType({"callee": callee.name}))
        meta = insn.meta or {}
        if "map" in meta:
            kind = PseudoSrc.MAP_VALUE if insn.src == PseudoSrc.MAP_VALUE else PseudoSrc.MAP_FD
            refs.append(MapReference(pc=pc, map=meta["map"], kind=kind, offset=meta.get("map_offset", 0),
                                     symbol=meta.get("symbol", "")))
        insns.append(insn)
        pc += insn.width
    labels = {placed[(fn.section, fn.name)]: fn.name for fn in order}
    return Linked(Program(insns, labels=labels, name=main.name),
                  tuple((fn, placed[(fn.section, fn.name)]) for fn in order), tuple(refs))


def _call_target(section: str, slot: int, insn: Insn) -> tuple[str, int] | None:
    """(section, slot) a bpf-to-bpf call or function address refers to, or None."""
    meta = insn.meta or {}
    if "target" in meta:
        sec, dest = meta["target"]
        return str(sec), int(dest)
    if insn.form is Form.CALL and insn.src == CallSrc.LOCAL and insn.cls is Class.JMP:
        # A call with no relocation stays inside its own section.
        return section, slot + 1 + insn.imm
    return None


def _callee(target: tuple[str, int], sections: Mapping[str, CodeSection], caller: Function,
            slot: int) -> Function:
    sec_name, dest = target
    sec = sections.get(sec_name)
    fn = sec.function_at(dest) if sec is not None else None
    if fn is None:
        raise ElfError(f"call from {caller.name!r} to slot {dest} of {sec_name!r}, which is in no function",
                       section=caller.section, symbol=caller.name, offset=slot * 8)
    if dest not in sec.insns:  # type: ignore[union-attr]
        raise ElfError(f"call into the middle of an instruction at slot {dest} of {sec_name!r}",
                       section=caller.section, symbol=caller.name, offset=slot * 8)
    return fn
