"""Global data: ``.data*``, ``.rodata*`` and ``.bss*`` sections as one-element array maps.

As libbpf: each such section becomes an ARRAY map named after it, with one
value holding the section's bytes (zeros for ``.bss``); ``.rodata`` maps are
read-only for programs and frozen once filled.  The section's BTF DATASEC,
when there is one, describes the value.
"""

from __future__ import annotations

from ..errors import ElfError
from ..maps.spec import MapFlags, MapSpec, MapType
from .btf import BtfKind
from .context import LoadContext
from .reader import SHF_ALLOC

__all__ = ["fixup_datasecs", "is_data_section", "load_data_maps"]

_DATA_PREFIXES = (".data", ".rodata", ".bss")
_MAX_VALUE_SIZE = 0x7FFF_FFFF  # array_map_alloc_check(): value_size > INT_MAX is E2BIG


def is_data_section(name: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in _DATA_PREFIXES)


def fixup_datasecs(ctx: LoadContext) -> None:
    """Give DATASECs their section's size and each VAR its symbol's offset.

    clang leaves these zero in objects (they are filled by relocations in
    ``.rel.BTF``); libbpf's ``btf_fixup_datasec`` does the same.
    """
    assert ctx.btf is not None
    for t in ctx.btf.types:
        if t.kind is not BtfKind.DATASEC:
            continue
        sec = ctx.elf.by_name.get(t.name)
        if sec is None:
            continue
        if t.size == 0:
            t.size = sec.size
        syms = {s.name: s for s in ctx.elf.symbols_in(sec) if s.type != "STT_SECTION"}
        fixed = []
        for m in t.members:
            sym = syms.get(m.name)
            fixed.append(m if sym is None else type(m)(m.name, type_id=m.type_id, offset=sym.value,
                                                       size=m.size))
        t.members = tuple(fixed)


def load_data_maps(ctx: LoadContext) -> None:
    for sec in ctx.elf.sections:
        if not (is_data_section(sec.name) and sec.flags & SHF_ALLOC
                and sec.type in ("SHT_PROGBITS", "SHT_NOBITS")) or sec.size == 0:
            continue
        ctx.where.set(sec.name)
        if sec.size > _MAX_VALUE_SIZE:
            raise ElfError(f"section of {sec.size} bytes is larger than a map value may be "
                           f"({_MAX_VALUE_SIZE})", section=sec.name)
        readonly = sec.name.startswith(".rodata")
        value = bytes(sec.size) if sec.type == "SHT_NOBITS" else sec.data
        value_type = ctx.btf.datasec(sec.name) if ctx.btf is not None else None
        spec = MapSpec(name=sec.name, type=MapType.ARRAY, key_size=4, value_size=sec.size, max_entries=1,
                       flags=int(MapFlags.RDONLY_PROG) if readonly else 0, value_type=value_type,
                       contents=((bytes(4), value),), freeze=readonly)
        ctx.add_map(spec, sec.name)
        ctx.data_maps[sec.index] = sec.name
