"""Legacy map definitions: the ``maps`` section of ``struct bpf_map_def`` records.

Every record has the same size (section size / number of map symbols), as
libbpf requires; the first five u32 fields are ``bpf_map_def``'s, and
iproute2's ``struct bpf_elf_map`` adds ``id``, ``pinning``, ``inner_id`` and
``inner_idx`` (kept in ``MapSpec.extra``).  Anything longer is kept as
``extra["trailing"]``.
"""

from __future__ import annotations

import struct
from typing import Any

from ..errors import ElfError
from ..maps.spec import MapSpec, MapType, Pinning
from .context import LoadContext
from .reader import Symbol

__all__ = ["MAP_OF_MAPS", "load_legacy_maps"]

MAP_OF_MAPS = frozenset({MapType.ARRAY_OF_MAPS, MapType.HASH_OF_MAPS})
_LEGACY_FIELDS = ("type", "key_size", "value_size", "max_entries", "map_flags",
                  "id", "pinning", "inner_id", "inner_idx")  # bpf_map_def, then iproute2's bpf_elf_map
_IPROUTE2_PIN_GLOBAL_NS = 2


def load_legacy_maps(ctx: LoadContext) -> None:
    sec = ctx.elf.by_name.get("maps")
    if sec is None:
        return
    ctx.where.set("maps")
    syms = sorted((s for s in ctx.elf.symbols_in(sec) if s.type != "STT_SECTION" and s.name),
                  key=lambda s: s.value)
    if not syms:
        if sec.size:
            raise ElfError("maps section has no map symbols", section="maps")
        return
    if sec.type == "SHT_NOBITS" or sec.size % len(syms):
        raise ElfError(f"maps section size {sec.size} is not a multiple of its {len(syms)} map symbols",
                       section="maps")
    rec = sec.size // len(syms)
    if rec < 16:
        raise ElfError(f"map definitions of {rec} bytes lack type/key_size/value_size/max_entries",
                       section="maps")
    e = "<" if ctx.byteorder == "little" else ">"
    parsed: list[tuple[Symbol, dict[str, int], bytes]] = []
    for sym in syms:
        ctx.where.set("maps", symbol=sym.name)
        if sym.value % 4 or sym.value + rec > sec.size:
            raise ElfError(f"map definition at offset {sym.value} is outside the section or misaligned",
                           section="maps", symbol=sym.name)
        raw = sec.data[sym.value : sym.value + rec]
        nfields = min(rec // 4, len(_LEGACY_FIELDS))
        values = struct.unpack_from(f"{e}{nfields}I", raw)
        fields = dict(zip(_LEGACY_FIELDS, values, strict=False))
        parsed.append((sym, fields, raw[nfields * 4 :]))
    specs = {sym.name: _legacy_spec(sym, fields, trailing) for sym, fields, trailing in parsed}
    # iproute2: a map-in-map's inner_id names the template map with that id.
    by_id = {f["id"]: s.name for s, f, _ in parsed if f.get("id")}
    for sym, fields, _ in parsed:
        spec = specs[sym.name]
        if spec.type in MAP_OF_MAPS and fields.get("inner_id"):
            inner = by_id.get(fields["inner_id"])
            if inner is None:
                raise ElfError(f"inner_id {fields['inner_id']} matches no map's id", section="maps",
                               symbol=sym.name)
            spec = spec.replace(inner_map=specs[inner])
        ctx.add_map(spec, "maps")
        ctx.map_at[(sec.index, sym.value)] = sym.name


def _legacy_spec(sym: Symbol, fields: dict[str, int], trailing: bytes) -> MapSpec:
    try:
        mtype = MapType(fields["type"])
    except ValueError:
        raise ElfError(f"unknown map type {fields['type']}", section="maps", symbol=sym.name) from None
    if mtype is MapType.UNSPEC:
        raise ElfError("map definition has no type", section="maps", symbol=sym.name)
    extra: dict[str, Any] = {k: v for k, v in fields.items() if k in _LEGACY_FIELDS[5:]}
    if trailing:
        extra["trailing"] = trailing
    pin = Pinning.BY_NAME if fields.get("pinning") == _IPROUTE2_PIN_GLOBAL_NS else Pinning.NONE
    return MapSpec(name=sym.name, type=mtype, key_size=fields["key_size"],
                   value_size=fields["value_size"], max_entries=fields["max_entries"],
                   flags=fields.get("map_flags", 0), pinning=pin, extra=extra)
