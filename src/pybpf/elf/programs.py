"""Programs: code sections decoded, relocated and linked into :class:`ProgramSpec`.

Every function symbol of an executable section other than ``.text`` is a
program (several per section allowed), typed by its section name as libbpf
reads it; ``.text`` functions are subprograms, appended to each program that
calls them (:mod:`.relocate`).  Relocations are resolved against the maps the
map stages recorded in the :class:`~.context.LoadContext`.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from typing import Any

from ..errors import ElfError, PyBpfError
from ..isa import decode_insns, validate
from ..platform.progtypes import (
    AttachType,
    ProgType,
    UnknownProgTypeError,
    UnknownSectionError,
    prog_type_info,
    resolve_section,
)
from . import relocate as rl
from .context import LoadContext
from .reader import SHN_LORESERVE, SHN_UNDEF, Section, Symbol
from .spec import ProgramSpec

__all__ = ["SectionType", "load_programs", "section_program_type"]


@dataclass(frozen=True)
class SectionType:
    """What a program section name means (libbpf's section_defs, from pybpf.platform)."""

    prog_type: ProgType
    attach_type: AttachType | None = None
    attach_to: str = ""
    sleepable: bool = False


def section_program_type(section: str) -> SectionType | None:
    """libbpf's meaning of a program section name, or None if it has none.

    >>> section_program_type("kprobe/do_unlinkat").attach_to
    'do_unlinkat'
    """
    try:
        match = resolve_section(section)
    except UnknownSectionError:
        return None
    # Only "name+" definitions take a target after the slash ("kprobe/fn");
    # in "sk_skb/stream_parser" the slash is part of the fixed name.
    target = match.target if match.sec_def.sec.endswith(("+", "/")) else ""
    return SectionType(match.prog_type, match.attach, target, match.sec_def.sleepable)


def _override_type(value: str | int) -> SectionType | None:
    """An explicit program type: a section name (``"xdp"``), a prog type name or id (``"sched_cls"``)."""
    if isinstance(value, str):
        found = section_program_type(value)
        if found is not None:
            return found
    try:
        return SectionType(prog_type_info(value).type)
    except UnknownProgTypeError:
        return None


def _code_sections(ctx: LoadContext) -> dict[str, rl.CodeSection]:
    out: dict[str, rl.CodeSection] = {}
    for sec in ctx.elf.sections:
        if not sec.is_code or sec.size == 0:
            continue
        ctx.where.set(sec.name)
        if sec.name in out:
            raise ElfError("two code sections with the same name", section=sec.name)
        try:
            insns = decode_insns(sec.data, byteorder=ctx.byteorder)
        except PyBpfError as exc:
            raise ElfError(f"cannot decode instructions: {exc}", section=sec.name) from exc
        by_slot = {}
        slot = 0
        for insn in insns:
            by_slot[slot] = insn
            slot += insn.width
        code = rl.CodeSection(sec.name, by_slot, sec.size // 8)
        code.functions = _functions(ctx, sec)
        out[sec.name] = code
    return out


def _functions(ctx: LoadContext, sec: Section) -> list[rl.Function]:
    syms = sorted((s for s in ctx.elf.symbols_in(sec) if s.type == "STT_FUNC"),
                  key=lambda s: s.value)
    if not syms:  # hand-written code with no function symbols: one function, named after the section
        return [rl.Function(sec.name, sec.name, 0, sec.size // 8)]
    funcs: list[rl.Function] = []
    for i, s in enumerate(syms):
        end = s.value + s.size if s.size else (syms[i + 1].value if i + 1 < len(syms) else sec.size)
        if s.value % 8 or end % 8 or not s.value < end <= sec.size:
            raise ElfError(f"function [{s.value:#x}, {end:#x}) is misaligned or outside the section "
                           f"({sec.size:#x} bytes)", section=sec.name, symbol=s.name)
        if funcs and s.value < funcs[-1].end:
            raise ElfError(f"function overlaps {funcs[-1].name!r}", section=sec.name, symbol=s.name)
        funcs.append(rl.Function(s.name, sec.name, s.value // 8, end // 8))
    return funcs


def _resolver(ctx: LoadContext, sym: Symbol, rel_section: str, idx: int) -> rl.Resolved:
    where: dict[str, Any] = {"section": rel_section, "relocation": idx, "symbol": sym.name}
    if sym.shndx == SHN_UNDEF:
        raise ElfError("relocation against an undefined (extern) symbol: externs are not supported",
                       **where)
    if sym.shndx >= SHN_LORESERVE:
        raise ElfError(f"relocation against a symbol in special section {sym.shndx:#x}", **where)
    if sym.shndx >= len(ctx.elf.sections):
        raise ElfError(f"symbol's section index {sym.shndx} out of range ({len(ctx.elf.sections)} sections)",
                       **where)
    target = ctx.elf.sections[sym.shndx]
    if (target.index, sym.value) in ctx.map_at:
        name = ctx.map_at[(target.index, sym.value)]
        return rl.Resolved("map", sym.name, map=name)
    if target.name in ("maps", ".maps"):
        raise ElfError(f"relocation against offset {sym.value} of {target.name}, where no map starts",
                       **where)
    if target.index in ctx.data_maps:
        if sym.value > target.size:
            raise ElfError(f"symbol offset {sym.value} is past the end of {target.name}", **where)
        return rl.Resolved("data", sym.name, map=ctx.data_maps[target.index], offset=sym.value,
                           size=target.size)
    if target.is_code:
        return rl.Resolved("code", sym.name, section=target.name, offset=sym.value)
    raise ElfError(f"relocation against a symbol in {target.name!r}, which holds no map, data or code",
                   **where)


def _code_relocations(ctx: LoadContext, rel: Section, target: Section) -> list[rl.Relocation]:
    entries = []
    for entry in ctx.elf.relocations(rel):
        idx, off, rtype = entry.index, entry.offset, entry.type
        sym = ctx.elf.symbol(entry.symbol, section=target.name, relocation=idx)
        # Resolved lazily: R_BPF_NONE entries may name anything.
        entries.append(rl.Relocation(idx, off, rtype, sym.name,
                                     functools.partial(_resolver, ctx, sym, target.name, idx)))
    return entries


def load_programs(ctx: LoadContext, license_: str, version: int) -> dict[str, ProgramSpec]:
    code = _code_sections(ctx)
    by_index = {s.index: s for s in ctx.elf.sections}
    for rel in ctx.elf.sections:
        if not rel.is_relocation:
            continue
        target = by_index.get(rel.info)
        if target is None or target.name not in code:
            continue
        ctx.where.set(rel.name)
        if rel.type == "SHT_RELA":
            raise ElfError("RELA relocations in a code section are not used by BPF", section=rel.name)
        rl.apply_relocations(code[target.name], _code_relocations(ctx, rel, target))
    programs: dict[str, ProgramSpec] = {}
    for name, sec in code.items():
        for fn in sec.functions:
            if name == ".text" and not (fn.name in ctx.prog_types or ".text" in ctx.prog_types):
                continue  # subprograms, as libbpf, unless asked for by name
            ctx.where.set(name, symbol=fn.name)
            st = _program_type(ctx, fn)
            linked = rl.link(fn, code)
            insns = linked.program
            try:
                validate(insns, byteorder=ctx.byteorder)
            except PyBpfError as exc:
                raise ElfError(f"program {fn.name!r} is malformed after linking: {exc}", section=name,
                               symbol=fn.name) from exc
            if fn.name in programs:
                raise ElfError("two programs with the same name", section=name, symbol=fn.name)
            programs[fn.name] = ProgramSpec(
                name=fn.name, section=name, prog_type=st.prog_type, insns=insns,
                attach_type=st.attach_type, attach_to=st.attach_to, sleepable=st.sleepable,
                license=license_, kernel_version=version, byteorder=ctx.byteorder,
                map_references=linked.map_references, subprograms=linked.subprograms,
                section_offset=fn.start * 8, **_ext_info(ctx, linked))
    return programs


def _ext_info(ctx: LoadContext, linked: rl.Linked) -> dict[str, Any]:
    """func_info/line_info/CO-RE records of every copied function, at their linked slots."""
    if ctx.btf_ext is None:
        return {}
    out: dict[str, list[Any]] = {"func_info": [], "line_info": [], "core_relos": []}
    for fn, _at in linked.placement:
        for key, table in (("func_info", ctx.btf_ext.func_info), ("line_info", ctx.btf_ext.line_info),
                           ("core_relos", ctx.btf_ext.core_relos)):
            for rec in table.get(fn.section, ()):
                slot = linked.out_slot(fn.section, rec.insn_off // 8)
                if rec.insn_off % 8 == 0 and slot is not None and fn.start <= rec.insn_off // 8 < fn.end:
                    out[key].append(dataclasses.replace(rec, insn_off=slot))
    return {k: tuple(sorted(v, key=lambda r: r.insn_off)) for k, v in out.items()}


def _program_type(ctx: LoadContext, fn: rl.Function) -> SectionType:
    for key in (fn.name, fn.section):
        if key in ctx.prog_types:
            found = _override_type(ctx.prog_types[key])
            if found is None:
                raise ElfError(f"unknown program type {ctx.prog_types[key]!r} given for {key!r}",
                               section=fn.section, symbol=fn.name)
            return found
    found = section_program_type(fn.section)
    if found is None:
        raise ElfError("unknown section with code: its name gives no program type "
                       "(pass prog_types={name: type} to load it)", section=fn.section, symbol=fn.name)
    return found
