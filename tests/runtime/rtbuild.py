"""Build small objects from assembly for the runtime tests.

``build(asm, prog_type, maps)``: in the assembly, ``rX = 0xAA0000NN ll`` loads
the pointer of the NN-th map of ``maps`` (insertion order), ``rX = 0xAB0000NN ll``
a pointer to its value (direct value access, offset 0), and
``rX = 0xBB0000SS ll`` the address of the function at slot SS (a callback).
"""

from __future__ import annotations

from typing import Any

from pybpf.asm import assemble
from pybpf.elf import ObjectSpec, ProgramSpec
from pybpf.isa import Program, PseudoSrc
from pybpf.maps import MapSpec, MapType
from pybpf.objects import BpfObject, load_object
from pybpf.platform import ProgType


def program(asm: str, maps: dict[str, MapSpec] | None = None) -> Program:
    names = list(maps or {})
    prog = assemble(asm)
    insns = []
    for pc, insn in prog.items():
        tag = insn.imm >> 24 if insn.opcode == 0x18 else 0
        if tag in (0xAA, 0xAB):
            name = names[insn.imm & 0xFF]
            src = PseudoSrc.MAP_FD if tag == 0xAA else PseudoSrc.MAP_VALUE
            insn = insn.replace(src=src, imm=0).with_meta(map=name, map_offset=0)
        elif tag == 0xBB:
            target = insn.imm & 0xFFFF
            insn = insn.replace(src=PseudoSrc.FUNC, imm=target - pc - 1)
        insns.append(insn)
    return Program(insns, labels=prog.labels)


def build(asm: str | dict[str, str], prog_type: ProgType | None = ProgType.XDP,
          maps: dict[str, MapSpec] | None = None, **options: Any) -> BpfObject:
    """An object with one program "prog" (or one per ``{name: asm}``) of ``prog_type``."""
    maps = maps or {}
    sources = asm if isinstance(asm, dict) else {"prog": asm}
    pt = prog_type if prog_type is not None else ProgType.SOCKET_FILTER
    programs = {name: ProgramSpec(name, "test", pt, program(text, maps)) for name, text in sources.items()}
    spec = ObjectSpec(programs=programs, maps=maps)
    if prog_type is None:
        options.setdefault("prog_types", dict.fromkeys(programs))
    return load_object(spec, **options)


def hash_map(name: str = "m", key: int = 4, value: int = 8, n: int = 16,
             type: MapType = MapType.HASH, **kw: Any) -> MapSpec:
    return MapSpec(name, type, key, value, n, **kw)
